//! `memcanary-agent`: the on-host daemon alone, so that the memory it
//! locks holds only code it can run (see `memcanary::agent::standalone`).

fn main() -> std::process::ExitCode {
    memcanary::agent::standalone::main()
}
