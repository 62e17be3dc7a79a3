//! Fuzz `Meminfo::parse`: any text must give Ok or a ParseError, never a panic,
//! and an Ok result must satisfy the parser's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcanary::signal::Meminfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});

fn check(text: &str) {
    match Meminfo::parse(text) {
        Ok(v) => invariants(&v, text),
        Err(e) => {
            // The message must render and stay bounded whatever the input.
            assert!(e.to_string().len() < 512);
        }
    }
}

fn invariants(m: &Meminfo, text: &str) {
    // Every kB value was converted, so each is a multiple of 1024.
    assert_eq!(m.mem_total_bytes % 1024, 0);
    assert_eq!(m.swap_free_bytes % 1024, 0);
    let (avail, estimated) = m.available_or_estimate();
    assert_eq!(estimated, m.mem_available_bytes.is_none());
    if estimated {
        assert!(avail <= m.mem_total_bytes);
    }
    assert!(text.is_empty() || text.ends_with('\n'));
}
