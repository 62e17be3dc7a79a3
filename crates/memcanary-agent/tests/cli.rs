//! The lean binary through its own command line. (Also makes `cargo test`
//! build it, for the root package's tests that run it beside `memcanary`.)

use std::process::Command;

#[test]
fn lean_binary_answers_help_version_and_names_a_bad_argument() {
    let lean = || Command::new(env!("CARGO_BIN_EXE_memcanary-agent"));
    let out = lean().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--config FILE"));
    let out = lean().arg("-V").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("memcanary-agent {}", env!("CARGO_PKG_VERSION"))
    );
    let out = lean().arg("--confg").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument \"--confg\""));
    let out = lean().args(["--log", "memcanary=loud"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log"));
}
