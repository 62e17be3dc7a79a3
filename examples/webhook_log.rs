//! A webhook receiver for `scripts/lab-agent.sh`: prints one line per request,
//! `<host epoch ms> <status> <rule> <severity>`, and answers 200.
//!
//! Usage: `webhook_log 127.0.0.1:19190`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:19190".into());
    let server = tiny_http::Server::http(&addr).expect("bind");
    for mut req in server.incoming_requests() {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
        let _ = req.respond(tiny_http::Response::empty(200));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let a = &v["alert"];
        println!(
            "{ms} {} {} {}",
            v["status"].as_str().unwrap_or("?"),
            a["rule"].as_str().unwrap_or("?"),
            a["severity"].as_str().unwrap_or("?")
        );
        let _ = std::io::stdout().flush();
    }
}
