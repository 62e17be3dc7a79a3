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
    // Each total read is a number the text holds after a "total=".
    let totals: Vec<u64> = text
        .split("total=")
        .skip(1)
        .filter_map(|r| {
            let r = r.strip_prefix('+').unwrap_or(r);
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            r[..end].parse().ok()
        })
        .collect();
    for l in std::iter::once(p.some).chain(p.full) {
        assert!(totals.contains(&l.total_us));
    }
    assert!(text.ends_with('\n'));
}
