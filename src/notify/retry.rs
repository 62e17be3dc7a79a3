//! Retries: a pure classifier of responses and a separate backoff.
//!
//! [`classify`] looks only at status, headers and body (and the current time,
//! for an HTTP-date `Retry-After`): 2xx is done; 429, 408 and 5xx retry,
//! honouring the server's wait (`Retry-After` in seconds or as an HTTP date,
//! `X-RateLimit-Reset-After`, Discord's JSON `retry_after`); any other status
//! gives up with a reason. [`classify_transport_error`] does the same for
//! failures before any answer: retried, unless the request itself is one
//! the client refuses (a malformed URL). [`Backoff`] computes exponential delays with full
//! jitter under a cap; its random source is a seeded generator, so tests are
//! deterministic and never sleep.

use super::transport::TransportError;
use std::time::Duration;

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryAction {
    /// Delivered.
    Done,
    /// Try again; the server asked to wait at least `after` if given.
    Retry {
        /// The server's requested wait.
        after: Option<Duration>,
        /// Why (status and message), for the log.
        reason: String,
    },
    /// Will never succeed as sent: drop this notification.
    GiveUp(String),
    /// The sink itself is unusable (e.g. deleted webhook): stop using it.
    Disable(String),
}

/// The longest server-requested wait honoured (a longer one is capped).
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(3600);

/// Classifies an HTTP response. Header names are compared case-insensitively.
pub fn classify(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    now_ms: i64,
) -> RetryAction {
    match status {
        200..=299 => RetryAction::Done,
        429 | 408 | 500..=599 => RetryAction::Retry {
            after: server_wait(headers, body, now_ms),
            reason: reason(status, headers, body),
        },
        300..=399 => RetryAction::GiveUp(format!(
            "{} (redirects are not followed: configure the final URL)",
            reason(status, headers, body)
        )),
        _ => RetryAction::GiveUp(reason(status, headers, body)),
    }
}

/// A failure before any answer: a connection-level one (refused, reset,
/// timeout, DNS) is retried; a request the client refuses to send (a bad
/// URL) is given up at once, since no retry can fix it.
pub fn classify_transport_error(e: &TransportError) -> RetryAction {
    if e.permanent {
        return RetryAction::GiveUp(e.message.clone());
    }
    RetryAction::Retry {
        after: None,
        reason: e.message.clone(),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The longest wait any of the server's hints asks for.
pub fn server_wait(headers: &[(String, String)], body: &[u8], now_ms: i64) -> Option<Duration> {
    let retry_after = header(headers, "retry-after").and_then(|v| parse_retry_after(v, now_ms));
    let reset_after = header(headers, "x-ratelimit-reset-after").and_then(secs);
    let json = json_retry_after(body);
    [retry_after, reset_after, json]
        .into_iter()
        .flatten()
        .max()
        .map(|d| d.min(MAX_SERVER_WAIT))
}

/// `Retry-After`: delay-seconds (also fractional) or an HTTP date.
pub fn parse_retry_after(v: &str, now_ms: i64) -> Option<Duration> {
    if let Some(d) = secs(v) {
        return Some(d);
    }
    let t = jiff::fmt::rfc2822::parse(v)
        .ok()?
        .timestamp()
        .as_millisecond();
    Some(Duration::from_millis(
        u64::try_from(t - now_ms).unwrap_or(0),
    ))
}

fn secs(v: &str) -> Option<Duration> {
    let f: f64 = v.trim().parse().ok()?;
    (f.is_finite() && f >= 0.0)
        .then(|| Duration::from_secs_f64(f.min(MAX_SERVER_WAIT.as_secs_f64())))
}

/// Discord's `{"retry_after": 1.5, "global": false}` (seconds, float).
fn json_retry_after(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let f = v.get("retry_after")?.as_f64()?;
    secs(&f.to_string())
}

/// Whether a 429 is Discord's global rate limit.
pub fn is_global_rate_limit(headers: &[(String, String)], body: &[u8]) -> bool {
    let in_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("global").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    in_body || header(headers, "x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `429 (global rate limit): <first 200 chars of the body>`.
fn reason(status: u16, headers: &[(String, String)], body: &[u8]) -> String {
    let mut text: String = String::from_utf8_lossy(body).chars().take(200).collect();
    text = text.replace(['\n', '\r'], " ");
    let global = if status == 429 && is_global_rate_limit(headers, body) {
        " (global rate limit)"
    } else {
        ""
    };
    format!("HTTP {status}{global}: {}", text.trim())
}

/// A small seeded random generator (SplitMix64): enough for jitter.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        self.next_u64() % (max + 1)
    }
}

/// Exponential backoff with full jitter: attempt `n` (0-based) waits a
/// uniform random time in `[0, min(cap, base * 2^n)]`; a server's requested
/// wait is a floor.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    rng: Rng,
}

impl Backoff {
    /// A backoff from base and cap delays and an RNG seed.
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Backoff {
        let base_ms = (base.as_millis() as u64).max(1);
        let cap_ms = (cap.as_millis() as u64).max(base_ms);
        Backoff {
            base_ms,
            cap_ms,
            rng: Rng::new(seed),
        }
    }

    /// The ceiling for attempt `n`: `min(cap, base * 2^n)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = self
            .base_ms
            .saturating_mul(1u64.checked_shl(attempt.min(63)).unwrap_or(u64::MAX));
        Duration::from_millis(exp.min(self.cap_ms))
    }

    /// The wait before retry number `attempt + 1`, at least `server_wait`.
    pub fn delay(&mut self, attempt: u32, server_wait: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        let jittered = Duration::from_millis(self.rng.up_to(ceiling));
        server_wait.map_or(jittered, |w| w.max(jittered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(204, &[], b"", 0), RetryAction::Done);
        for s in [429, 408, 500, 502, 503, 504] {
            assert!(
                matches!(classify(s, &[], b"", 0), RetryAction::Retry { .. }),
                "{s}"
            );
        }
        for s in [301, 308, 400, 401, 403, 404, 413, 422] {
            assert!(
                matches!(classify(s, &[], b"", 0), RetryAction::GiveUp(_)),
                "{s}"
            );
        }
    }

    #[test]
    fn a_refused_request_is_given_up_and_a_timeout_retried() {
        let e = |permanent| TransportError {
            message: "invalid URL".into(),
            permanent,
        };
        assert_eq!(
            classify_transport_error(&e(true)),
            RetryAction::GiveUp("invalid URL".into())
        );
        assert!(matches!(
            classify_transport_error(&e(false)),
            RetryAction::Retry { .. }
        ));
    }

    #[test]
    fn give_up_says_why() {
        let RetryAction::GiveUp(why) = classify(400, &[], br#"{"message":"Invalid Form Body"}"#, 0)
        else {
            panic!("expected give up");
        };
        assert!(
            why.contains("400") && why.contains("Invalid Form Body"),
            "{why}"
        );
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = jiff::Timestamp::from_second(784_111_777)
            .unwrap()
            .as_millisecond();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn the_longest_server_hint_wins_and_is_capped() {
        let headers = h(&[("Retry-After", "1"), ("X-RateLimit-Reset-After", "2.25")]);
        let body = br#"{"message":"You are being rate limited.","retry_after":3.5,"global":true}"#;
        let RetryAction::Retry { after, reason } = classify(429, &headers, body, 0) else {
            panic!("expected retry");
        };
        assert_eq!(after, Some(Duration::from_millis(3500)));
        assert!(reason.contains("global"), "{reason}");
        assert_eq!(
            server_wait(&h(&[("retry-after", "999999")]), b"", 0),
            Some(MAX_SERVER_WAIT)
        );
        assert_eq!(
            server_wait(&h(&[("x-ratelimit-reset-after", "0.75")]), b"", 0),
            Some(Duration::from_millis(750))
        );
    }

    #[test]
    fn backoff_grows_to_the_cap_with_full_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 42);
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(5));
        assert_eq!(b.ceiling(200), Duration::from_secs(5));
        let mut seen_low = false;
        let mut seen_high = false;
        for attempt in 0..2000u32 {
            let n = attempt % 12;
            let d = b.delay(n, None);
            assert!(d <= b.ceiling(n), "attempt {n}: {d:?}");
            seen_low |= n == 11 && d < Duration::from_secs(1);
            seen_high |= n == 11 && d > Duration::from_secs(4);
        }
        assert!(seen_low && seen_high, "jitter should spread over [0, cap]");
        assert!(b.delay(0, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
    }

    #[test]
    fn same_seed_same_delays() {
        let mut a = Backoff::new(Duration::from_millis(10), Duration::from_secs(1), 7);
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(1), 7);
        for n in 0..20 {
            assert_eq!(a.delay(n, None), b.delay(n, None));
        }
    }
}
