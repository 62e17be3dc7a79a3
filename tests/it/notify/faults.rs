//! A receiver that misbehaves at the TCP level, on 127.0.0.1: it accepts,
//! reads the request and never answers (a hung endpoint). For the answering
//! kinds (errors, scripted replies) see [`super::receiver`].

#![allow(dead_code)] // helpers shared by several test files

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A hung endpoint on a free loopback port: connections are held open,
/// unanswered, until it is dropped.
pub struct Hang {
    pub addr: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Hang {
    pub fn start() -> Hang {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (a, s, h) = (accepted.clone(), stop.clone(), held.clone());
        let thread = std::thread::spawn(move || serve(listener, a, s, h));
        Hang {
            addr,
            accepted,
            stop,
            held,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits (bounded, 30 s) until `n` connections were accepted.
    pub fn wait_accepted(&self, n: usize) {
        for _ in 0..600 {
            if self.accepted() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting for {n} connections; got {}",
            self.accepted()
        );
    }
}

impl Drop for Hang {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.held.lock().unwrap().clear();
    }
}

fn serve(
    listener: TcpListener,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok((mut conn, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        conn.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = conn.read(&mut [0u8; 4096]);
        held.lock().unwrap().push(conn);
    }
}
