//! [`Datasource`]: the HTTP client of the query API, built once from
//! `[watch]` (stage three of the config: secrets resolved, CA loaded).
//!
//! One GET per query, `Accept-Encoding` left out so a gzip answer cannot
//! surprise the parser; the body is read up to [`MAX_ANSWER_BYTES`].
//! Error texts never carry the URL's query, a token, a password or a
//! header value: they are scrubbed before they leave this module.

use super::answer::{self, AnswerError, Points, MAX_ANSWER_BYTES};
use super::config::{url_host, WatchConfig};
use crate::notify::secret::resolve as resolve_secret;
use crate::notify::secret::scrub;
use crate::notify::transport::describe;
use crate::notify::{NotifyError, Secret};
use crate::signal::node_exporter::Field;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why the datasource client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A `password_*` / `token_*` could not be resolved.
    #[error(transparent)]
    Secret(#[from] NotifyError),
    /// `ca_file` could not be read.
    #[error("watch.ca_file: cannot read {}", path.display())]
    CaRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ca_file` holds no PEM certificate.
    #[error("watch.ca_file: {} holds no PEM certificate", path.display())]
    CaEmpty {
        /// The file.
        path: PathBuf,
    },
}

/// Why one query gave nothing usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// No HTTP answer: refused, reset, DNS, TLS, or the timeout.
    #[error("{0}")]
    Unreachable(String),
    /// An HTTP status other than 200.
    #[error("HTTP {status}; the body starts {head:?}")]
    Status {
        /// The status.
        status: u16,
        /// The first bytes of the body.
        head: String,
    },
    /// An HTTP status other than 200 with a `"status":"error"` body: the
    /// server's reason.
    #[error("HTTP {status}: {error_type}: {error}")]
    Refused {
        /// The status.
        status: u16,
        /// `errorType`.
        error_type: String,
        /// `error`.
        error: String,
    },
    /// The body is larger than [`MAX_ANSWER_BYTES`].
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    /// A 200 whose body is unusable.
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

/// The query API of one Prometheus-compatible datasource.
#[derive(Debug, Clone)]
pub struct Datasource {
    agent: ureq::Agent,
    endpoint: String,
    /// `Authorization` and the extra headers, values secret.
    headers: Arc<Vec<(String, Secret)>>,
    /// Every secret, header values and the raw token and password, for
    /// scrubbing error texts.
    secrets: Arc<Vec<Secret>>,
    host_label: String,
    selector: String,
    /// What the datasource is called in logs and alerts: scheme, host, port.
    name: String,
}

impl Datasource {
    /// Resolves the secrets, loads the CA and makes the client.
    pub fn build(cfg: &WatchConfig) -> Result<Datasource, BuildError> {
        let timeout = Duration::from_millis(cfg.timeout.as_millis() as u64);
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("memcanary-watch/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &cfg.ca_file {
            builder = builder.tls_config(tls_with_ca(path)?);
        }
        let (headers, secrets) = headers(cfg)?;
        Ok(Datasource {
            agent: builder.build().into(),
            endpoint: format!("{}/api/v1/query", cfg.url.trim_end_matches('/')),
            headers: Arc::new(headers),
            secrets: Arc::new(secrets),
            host_label: cfg.host_label.clone(),
            selector: cfg.selector.clone(),
            name: display_name(&cfg.url),
        })
    }

    /// `scheme://host:port` of the datasource, for logs and alerts.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every host's raw samples of `field` in the `window_ms` before `at_ms`.
    /// A debug line says where the time went: the datasource's answer
    /// (`query_ms`, the body read whole) or its parse (`parse_ms`).
    pub fn fetch(
        &self,
        field: Field,
        window_ms: i64,
        at_ms: i64,
    ) -> Result<HashMap<String, Points>, QueryError> {
        let asked = crate::clock::mono();
        let body = self.get(&answer::query(field, &self.selector, window_ms), at_ms)?;
        let answered = crate::clock::mono();
        let hosts = answer::parse(&body, field, &self.host_label)?;
        tracing::debug!(
            metric = field.metric(),
            bytes = body.len(),
            query_ms = (answered - asked).as_millis() as u64,
            parse_ms = answered.elapsed().as_millis() as u64,
            "answer read"
        );
        Ok(hosts)
    }

    /// [`Datasource::fetch`] narrowed to `hosts` (by the host label) when
    /// the selector allows it; otherwise every host's.
    pub fn fetch_hosts(
        &self,
        field: Field,
        window_ms: i64,
        at_ms: i64,
        hosts: &[String],
    ) -> Result<HashMap<String, Points>, QueryError> {
        let Some(sel) = super::narrow::selector(&self.selector, &self.host_label, hosts) else {
            return self.fetch(field, window_ms, at_ms);
        };
        let body = self.get(&answer::query(field, &sel, window_ms), at_ms)?;
        Ok(answer::parse(&body, field, &self.host_label)?)
    }

    fn get(&self, query: &str, at_ms: i64) -> Result<Vec<u8>, QueryError> {
        let mut req = self
            .agent
            .get(&self.endpoint)
            .query("query", query)
            .query("time", answer::api_time(at_ms));
        for (name, value) in self.headers.iter() {
            req = req.header(name.as_str(), value.expose());
        }
        let mut resp = req
            .call()
            .map_err(|e| QueryError::Unreachable(self.scrubbed(&describe(&e))))?;
        let status = resp.status().as_u16();
        let read = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec();
        let body = match read {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(QueryError::TooLarge),
            Err(e) => return Err(QueryError::Unreachable(self.scrubbed(&describe(&e)))),
        };
        if status != 200 {
            if let Some(AnswerError::Server { error_type, error }) = answer::refusal(&body) {
                return Err(QueryError::Refused {
                    status,
                    error_type,
                    error: self.scrubbed(&error),
                });
            }
            let head =
                String::from_utf8_lossy(&body[..body.len().min(80)]).replace(char::is_control, " ");
            return Err(QueryError::Status {
                status,
                head: self.scrubbed(&head),
            });
        }
        Ok(body)
    }

    fn scrubbed(&self, text: &str) -> String {
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        scrub(text, &secrets)
    }
}

/// Request headers, and every secret among them (to scrub).
type Headers = (Vec<(String, Secret)>, Vec<Secret>);

/// The request headers: `Authorization` from the token or basic auth, then
/// the configured extra headers; and every secret, to scrub.
fn headers(cfg: &WatchConfig) -> Result<Headers, NotifyError> {
    let mut out = Vec::new();
    let mut secrets = Vec::new();
    let token = resolve_secret(
        "watch.token",
        cfg.token.as_ref(),
        cfg.token_env.as_deref(),
        cfg.token_file.as_ref(),
    )?;
    if let Some(t) = token {
        secrets.push(t.clone());
        out.push((
            "Authorization".to_string(),
            Secret::new(format!("Bearer {}", t.expose())),
        ));
    }
    if let Some(user) = &cfg.username {
        let pw = resolve_secret(
            "watch.password",
            cfg.password.as_ref(),
            cfg.password_env.as_deref(),
            cfg.password_file.as_ref(),
        )?;
        secrets.extend(pw.clone());
        let pair = format!("{user}:{}", pw.as_ref().map_or("", Secret::expose));
        out.push((
            "Authorization".to_string(),
            Secret::new(format!("Basic {}", base64(pair.as_bytes()))),
        ));
    }
    for (name, value) in &cfg.headers {
        out.push((name.clone(), value.clone()));
    }
    secrets.extend(out.iter().map(|(_, v)| v.clone()));
    Ok((out, secrets))
}

fn tls_with_ca(path: &PathBuf) -> Result<ureq::tls::TlsConfig, BuildError> {
    use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
    let pem = std::fs::read(path).map_err(|source| BuildError::CaRead {
        path: path.clone(),
        source,
    })?;
    let certs: Vec<_> = parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(BuildError::CaEmpty { path: path.clone() });
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&certs))
        .build())
}

/// `scheme://host:port` of `url`: no path, query or credentials.
fn display_name(url: &str) -> String {
    let scheme = url.split("://").next().unwrap_or("http");
    let rest = url.split("://").nth(1).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    let port = authority
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(p) if !url_host(url).ends_with(p) => format!("{scheme}://{}:{p}", url_host(url)),
        _ => format!("{scheme}://{}", url_host(url)),
    }
}

/// A short description of a ureq error without the URL.
/// Standard base64 with padding (basic auth).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;

mod history;
