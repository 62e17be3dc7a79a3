//! Threads whose stacks are resident before they are needed.
//!
//! The agent locks its memory with `mlockall(MCL_CURRENT)` before it starts
//! any thread, then `mlockall(MCL_FUTURE | MCL_ONFAULT)`: a thread's stack is
//! locked page by page as it is first touched, so a generous stack
//! *reservation* costs nothing until used. What the thread will use must
//! still be resident before the host thrashes, since faulting in a fresh
//! stack page then means waiting on reclaim. [`spawn`] therefore touches the
//! thread's expected working depth (`hot` bytes) once at start: those pages
//! are faulted in and locked, the rest of the reservation stays virtual.
//!
//! How deep each thread really goes was measured in the `agent` build
//! (docs/agent.md, "Against the targets"): its stack's pages counted in
//! `/proc/PID/smaps` and the lowest written word read from `/proc/PID/mem`,
//! with nothing faulted in ahead, after a firing, the black box's snapshot
//! and cgroup probe, its state file, `/metrics` scrapes and a reload. From
//! the top of the mapping (glibc's thread block included): notifier 9 KiB,
//! black box 10, router 9, spool writer 6, stdout worker 10, /metrics 8; a
//! TLS handshake (refused at the certificate) 46-47. [`HOT_SHALLOW`] covers
//! the shallow ones; a thread that goes deeper than its `hot` depth takes a
//! page fault there (the page is then locked), it does not fail: only a
//! `reserve` too small would overflow.

use std::hint::black_box;

const CHUNK: usize = 8 * 1024;

/// The largest stack reservation a thread gets (a larger `reserve` is cut
/// to this): under `MCL_FUTURE` the whole reservation counts against
/// `RLIMIT_MEMLOCK`, and [`crate::agent::protect`] budgets each thread at
/// this much.
pub const MAX_STACK: usize = 1024 * 1024;

/// The stack depth kept resident in a thread that never runs a TLS
/// handshake (notifier, black box, router, spool writer, stdout worker,
/// /metrics): each measured at 10 KiB at most, see the module docs.
pub const HOT_SHALLOW: usize = 16 * 1024;

/// Spawns a named thread with a `reserve`-byte stack (at most
/// [`MAX_STACK`]) whose first `hot` bytes are faulted in before `f` runs.
pub fn spawn<F, T>(
    name: String,
    reserve: usize,
    hot: usize,
    f: F,
) -> std::io::Result<std::thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let reserve = reserve.min(MAX_STACK);
    std::thread::Builder::new()
        .name(name)
        .stack_size(reserve)
        .spawn(move || {
            // Leave room for the frames above us and for `f` itself.
            touch(hot.min(reserve.saturating_sub(4 * CHUNK)) / CHUNK);
            f()
        })
}

/// Writes `chunks` consecutive 8 KiB stack frames (recursion that cannot be
/// turned into a loop: each frame is read again after the call returns).
#[inline(never)]
fn touch(chunks: usize) {
    let mut frame = [0u8; CHUNK];
    black_box(&mut frame);
    if chunks > 1 {
        touch(chunks - 1);
    }
    black_box(&frame);
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_the_closure_with_its_name_after_touching() {
        let h = super::spawn("hot-stack".into(), 256 * 1024, 128 * 1024, || {
            std::thread::current().name().map(str::to_owned)
        })
        .unwrap();
        assert_eq!(h.join().unwrap().as_deref(), Some("hot-stack"));
        // A hot depth larger than the reservation is clipped, not a crash.
        let h = super::spawn("clipped".into(), 64 * 1024, 1 << 20, || 7).unwrap();
        assert_eq!(h.join().unwrap(), 7);
    }
}
