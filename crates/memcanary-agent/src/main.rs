//! `memcanary-agent`: the on-host daemon alone, so that the memory it
//! locks holds only code it can run (see `memcanary::cli::agent`).

fn main() -> std::process::ExitCode {
    memcanary::cli::agent::lean_main()
}
