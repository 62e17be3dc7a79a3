//! Arbitrary bytes into `parse_vm_export`: it must never panic, and what it accepts
//! must satisfy the invariants in `check.rs`.
#![no_main]

mod check;

use libfuzzer_sys::fuzz_target;
use memcanary::source::recorded::parse_vm_export;

fuzz_target!(|data: &[u8]| {
    check::check(parse_vm_export(data, "fuzz"));
});
