//! Fuzz `Vmstat::parse`: any text must give Ok or a ParseError, never a panic,
//! and an Ok result must satisfy the parser's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcanary::signal::Vmstat;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});

fn check(text: &str) {
    match Vmstat::parse(text) {
        Ok(v) => invariants(&v, text),
        Err(e) => {
            // The message must render and stay bounded whatever the input.
            assert!(e.to_string().len() < 512);
        }
    }
}

fn invariants(_v: &Vmstat, text: &str) {
    assert!(text.is_empty() || text.ends_with('\n'));
}
