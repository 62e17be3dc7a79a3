//! The `memcanary` command line.

fn main() {}
