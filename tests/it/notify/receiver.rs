//! A local HTTP receiver (tiny_http) standing in for services outside the
//! machine. It records every request, answers from a script (then a default),
//! and in Discord mode enforces Discord's documented message limits,
//! answering 400 with a Discord-like error body on a violation.

#![allow(dead_code)] // helpers shared by several test files

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Received {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
    /// When it arrived, ms since the epoch.
    pub at_ms: i64,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn json(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn header(mut self, n: &str, v: &str) -> Reply {
        self.headers.push((n.into(), v.into()));
        self
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    script: VecDeque<Reply>,
}

pub struct Receiver {
    pub addr: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// A receiver on a free loopback port; `discord` turns on limit checks.
    pub fn start(discord: bool) -> Receiver {
        Receiver::start_on("127.0.0.1:0", discord)
    }

    pub fn start_on(addr: &str, discord: bool) -> Receiver {
        let server = tiny_http::Server::http(addr).expect("bind receiver");
        let addr = server.server_addr().to_ip().expect("ip addr").to_string();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || serve(server, sh, st, discord));
        Receiver {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers to give, in order, before the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().unwrap().script.extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Requests that were accepted (2xx).
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Waits (bounded) until `pred` holds for the received requests.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..600 {
            let got = self.received();
            if pred(&got) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}; got {:#?}", self.received());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    server: tiny_http::Server,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    discord: bool,
) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        let mut body = Vec::new();
        let _ = req.as_reader().read_to_end(&mut body);
        let headers = req
            .headers()
            .iter()
            .map(|h| (h.field.to_string(), h.value.to_string()))
            .collect();
        let url = req.url().to_string();
        let at_ms = memcanary::notify::Clock::now_ms(&memcanary::notify::SystemClock);
        let reply = {
            let mut g = shared.lock().unwrap();
            match discord.then(|| discord_violation(&url, &body)).flatten() {
                Some(why) => Reply::json(
                    400,
                    &serde_json::json!({"message": why, "code": 50035}).to_string(),
                ),
                None => g
                    .script
                    .pop_front()
                    .unwrap_or_else(|| default_reply(discord)),
            }
        };
        shared.lock().unwrap().received.push(Received {
            url,
            headers,
            body,
            status: reply.status,
            at_ms,
        });
        let mut resp = tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
        for (n, v) in &reply.headers {
            resp.add_header(tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).unwrap());
        }
        let _ = req.respond(resp);
    }
}

fn default_reply(discord: bool) -> Reply {
    if discord {
        Reply::json(200, r#"{"id":"1","type":0,"content":""}"#)
    } else {
        Reply::status(200)
    }
}

fn chars(v: &serde_json::Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Discord's documented limits; the reason for the first violation.
pub fn discord_violation(url: &str, body: &[u8]) -> Option<String> {
    if !url.contains("wait=true") {
        return Some("memcanary must ask ?wait=true".into());
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Some("Invalid JSON".into());
    };
    if chars(&v["content"]) > 2000 {
        return Some("content: Must be 2000 or fewer in length.".into());
    }
    let embeds = v["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Some("embeds: Must be 10 or fewer in length.".into());
    }
    if v["content"].as_str().unwrap_or("").is_empty() && embeds.is_empty() {
        return Some("Cannot send an empty message".into());
    }
    let mut total = 0;
    for e in &embeds {
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        let checks = [
            ("title", chars(&e["title"]), 256),
            ("description", chars(&e["description"]), 4096),
            ("footer.text", chars(&e["footer"]["text"]), 2048),
            ("author.name", chars(&e["author"]["name"]), 256),
            ("fields", fields.len(), 25),
        ];
        for (what, n, max) in checks {
            if n > max {
                return Some(format!(
                    "embeds.0.{what}: Must be {max} or fewer in length."
                ));
            }
        }
        total += chars(&e["title"])
            + chars(&e["description"])
            + chars(&e["footer"]["text"])
            + chars(&e["author"]["name"]);
        for f in &fields {
            if chars(&f["name"]) > 256 || chars(&f["value"]) > 1024 {
                return Some("embeds.0.fields: field name/value too long".into());
            }
            if chars(&f["name"]) == 0 || chars(&f["value"]) == 0 {
                return Some("embeds.0.fields: name and value are required".into());
            }
            total += chars(&f["name"]) + chars(&f["value"]);
        }
    }
    (total > 6000).then(|| "Embed size exceeds maximum size of 6000".into())
}
