//! The one transport: sends a rendered [`Request`] over HTTP (ureq with
//! rustls) or to stdout, and returns what came back.
//!
//! One [`Transport`] per sink, made when the dispatcher is built, and one for
//! the heartbeat, so the client, its TLS configuration and its connection
//! pool exist before the first alert. [`Transport::new`] is the only place
//! an HTTP client is configured. Errors are turned into text here and scrubbed of the sink's
//! secrets, since ureq may quote the URL.

use super::request::{Method, Request};
use super::secret::{scrub, Secret};
use std::io::Write;
use std::time::Duration;

/// The most response body read (error messages, Discord's JSON).
pub const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// Body, at most [`MAX_RESPONSE_BODY`] bytes.
    pub body: Vec<u8>,
}

/// A failure before any answer, with secrets already scrubbed from the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// What happened (no URL in it).
    pub message: String,
    /// Whether sending again cannot help (a URL or header the client
    /// refuses), as opposed to a timeout, reset or refused connection.
    pub permanent: bool,
}

impl TransportError {
    fn of(e: &ureq::Error, secrets: &[&Secret]) -> TransportError {
        TransportError {
            message: scrub(&describe(e), secrets),
            permanent: is_permanent(e),
        }
    }
}

/// Sends requests for one sink.
#[derive(Debug)]
pub struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    /// A transport with a connect timeout and a whole-request timeout.
    pub fn new(connect: Duration, request: Duration) -> Transport {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(connect))
            .timeout_global(Some(request))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("memcanary/", env!("CARGO_PKG_VERSION")))
            .build();
        Transport {
            agent: config.into(),
        }
    }

    /// Sends `req`; `secrets` are scrubbed from any error text.
    pub fn send(&self, req: &Request, secrets: &[&Secret]) -> Result<Response, TransportError> {
        match req.method {
            Some(Method::Stdout) => write_stdout(&req.body),
            Some(Method::Post) | None => {
                self.post(req).map_err(|e| TransportError::of(&e, secrets))
            }
        }
    }

    /// GETs `url` (the heartbeat's ping) and returns the status; `url` is
    /// scrubbed from any error text.
    pub fn get(&self, url: &Secret) -> Result<u16, TransportError> {
        self.agent
            .get(url.expose())
            .call()
            .map(|resp| resp.status().as_u16())
            .map_err(|e| TransportError::of(&e, &[url]))
    }

    fn post(&self, req: &Request) -> Result<Response, ureq::Error> {
        let mut builder = self.agent.post(req.url.as_str());
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut resp = builder.send(req.body.as_slice())?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BODY)
            .read_to_vec()
            .unwrap_or_default();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// Errors no retry can fix: the request itself is one the client refuses.
fn is_permanent(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RequireHttpsOnly(_)
    )
}

/// A short description of a ureq error that never includes the URL.
/// A ureq error in a few words (no URL: the caller scrubs what it adds).
pub fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::BadUri(_) => "invalid URL".to_string(),
        ureq::Error::Io(io) => match io.get_ref() {
            // TLS errors come wrapped as `InvalidData`: the inner error
            // says which (e.g. "invalid peer certificate: UnknownIssuer").
            Some(inner) => format!("connection failed: {}: {inner}", io.kind()),
            None => format!("connection failed: {}", io.kind()),
        },
        ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        other => format!("request failed: {other}"),
    }
}

fn write_stdout(body: &[u8]) -> Result<Response, TransportError> {
    let mut out = std::io::stdout().lock();
    out.write_all(body)
        .and_then(|()| out.flush())
        .map_err(|e| TransportError {
            message: format!("writing to stdout: {e}"),
            permanent: false,
        })?;
    Ok(Response {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    })
}
