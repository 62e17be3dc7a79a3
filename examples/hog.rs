//! A memory hog for the real-kernel test and `scripts/bench-agent.sh`: waits
//! for a line on stdin (so the caller can move it into a cgroup first), then
//! grows by `STEP_MIB` every `STEP_MS`, re-touching what it holds so reclaim
//! hurts, up to `MAX_MIB`, then holds until killed.
//!
//! Usage: `hog STEP_MIB STEP_MS MAX_MIB`

use std::io::BufRead;
use std::time::Duration;

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (step_mib, step_ms, max_mib) = (arg(1, 4), arg(2, 200), arg(3, 4096));
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut round = 0u8;
    loop {
        if (chunks.len() as u64) * step_mib < max_mib {
            chunks.push(vec![0x5a; (step_mib as usize) << 20]);
        }
        round = round.wrapping_add(1);
        for c in chunks.iter_mut() {
            for b in c.iter_mut().step_by(4096) {
                *b = round;
            }
        }
        std::thread::sleep(Duration::from_millis(step_ms));
    }
}
