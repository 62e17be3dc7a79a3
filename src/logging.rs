//! The one logging setup, for `memcanary` and `memcanary-agent` alike.
//!
//! The filter is a [`Targets`] list (`info`, `memcanary=debug,info`): the
//! same syntax in both binaries, and no regex engine for the lean agent to
//! link and lock. A filter that does not parse is an error (the binaries
//! exit 2), never a silent fall back to `info`. The HTTP client's own debug
//! and trace logs print request URLs and bytes, which carry webhook tokens:
//! [`QUIET_HTTP_LOGS`](crate::notify::QUIET_HTTP_LOGS) is appended to every
//! filter so they stay quiet whatever the user asked for.

use tracing_subscriber::filter::Targets;

/// Where the filter came from, for the error message.
pub const FILTER_SOURCE: &str = "--log / MEMCANARY_LOG";

/// A log filter that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid log filter {text:?} ({FILTER_SOURCE})")]
pub struct FilterError {
    /// The filter as given.
    pub text: String,
    /// The parser's reason.
    #[source]
    pub source: tracing_subscriber::filter::ParseError,
}

/// Parses `text` (with the HTTP client kept quiet).
pub fn filter(text: &str) -> Result<Targets, FilterError> {
    format!("{text},{}", crate::notify::QUIET_HTTP_LOGS)
        .parse()
        .map_err(|source| FilterError {
            text: text.to_owned(),
            source,
        })
}

/// Sends logs at `filter` to stderr (coloured on a terminal).
pub fn init(filter: Targets) {
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
}

/// `e` and its sources, joined by `": "`, for a log field (what `{:#}`
/// prints for an `anyhow::Error`, without `anyhow`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_names_the_flag_and_the_value() {
        assert!(filter("info,memcanary=debug").is_ok());
        let msg = error_chain(&filter("memcanary=loud").unwrap_err());
        assert!(
            msg.starts_with("invalid log filter \"memcanary=loud\" (--log / MEMCANARY_LOG): "),
            "{msg}"
        );
    }
}
