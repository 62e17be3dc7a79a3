//! Fuzz `Vmstat::parse` and the in-place read: any text must give Ok or a
//! ParseError, never a panic, and an Ok result must satisfy the parser's
//! invariants. An input with a NUL is two reads, the first teaching a
//! `VmstatLayout` where the lines were: the second must answer as the full
//! parse when both hold the same wanted keys, each at most once (as a
//! kernel prints them, boot after boot).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memcanary::signal::{Vmstat, VmstatLayout};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
});

fn check(text: &str) {
    let (first, second) = text.split_once('\0').unwrap_or((text, text));
    match Vmstat::parse(text) {
        Ok(v) => invariants(&v, text),
        Err(e) => {
            // The message must render and stay bounded whatever the input.
            assert!(e.to_string().len() < 512);
        }
    }
    let mut layout = VmstatLayout::default();
    let learned = Vmstat::parse_with_layout(first.as_bytes(), &mut layout);
    assert_eq!(learned, Vmstat::parse(first));
    let again = Vmstat::parse_with_layout(second.as_bytes(), &mut layout);
    if keys(first).is_some_and(|k| keys(second) == Some(k)) {
        assert_eq!(again, Vmstat::parse(second));
    }
}

/// Which wanted keys `text` holds, or `None` if one appears twice.
fn keys(text: &str) -> Option<[bool; 4]> {
    let mut seen = [false; 4];
    for (k, key) in ["pswpin", "pswpout", "pgmajfault", "oom_kill"].iter().enumerate() {
        let n = text
            .lines()
            // As the parser sees a line: its key at the very start.
            .filter(|l| l.starts_with(key) && l.split_ascii_whitespace().next() == Some(key))
            .count();
        if n > 1 {
            return None;
        }
        seen[k] = n == 1;
    }
    Some(seen)
}

fn invariants(_v: &Vmstat, text: &str) {
    assert!(text.is_empty() || text.ends_with('\n'));
}
