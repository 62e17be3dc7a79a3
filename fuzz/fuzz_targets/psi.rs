//! Fuzz `Psi::parse`: any text must give Ok or a ParseError, never a panic,
//! and an Ok result must satisfy the parser's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcanary::signal::Psi;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});

fn check(text: &str) {
    match Psi::parse(text) {
        Ok(v) => invariants(&v, text),
        Err(e) => {
            // The message must render and stay bounded whatever the input.
            assert!(e.to_string().len() < 512);
        }
    }
}

fn invariants(p: &Psi, text: &str) {
    for l in std::iter::once(p.some).chain(p.full) {
        assert!(l.avg10_pct >= 0.0 && l.avg10_pct.is_finite());
        assert!(l.avg300_pct >= 0.0 && l.avg300_pct.is_finite());
    }
    assert!(text.ends_with('\n'));
}
