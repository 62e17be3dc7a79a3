//! What the datasource is asked and how its answer is read: pure, on bytes.
//!
//! Every query is an instant query of a range selector,
//! `node_memory_MemAvailable_bytes{job="node"}[75s]` at an explicit
//! `time=`: Prometheus and VictoriaMetrics answer it with the raw samples
//! and their own timestamps. A plain instant query would not do: its value
//! carries the *query's* time, and VictoriaMetrics moves a query near now
//! back by `-search.latencyOffset`, so a value 40 s old would look fresh.
//! With raw samples the freshness of each host is the time of its newest
//! sample, whatever the server did.
//!
//! A `NaN` point is a staleness marker, not a value: when a scrape target
//! stops (node_exporter or its host down) the scraper writes one to each
//! of its series, and VictoriaMetrics returns it among the raw samples as
//! `"NaN"` (node_exporter's memory series are never NaN themselves). It is
//! left out, so that host simply has no sample then and goes silent; one
//! host stopping must not blind the watcher to the whole fleet.
//!
//! Anything else but a clean `success` matrix of finite numbers >= 0 is an
//! [`AnswerError`]; the caller skips the whole cycle on one, keeping every
//! host's state, rather than act on half an answer.

use crate::signal::node_exporter::Field;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// One host's points of one metric, oldest first: `(ms, value)`.
pub type Points = Vec<(i64, f64)>;

/// The most bytes of an answer read (256 MiB: a 1 h backfill of ~3,000
/// hosts at a 15 s scrape for one metric).
pub const MAX_ANSWER_BYTES: u64 = 256 << 20;

/// The PromQL of one query: `metric` + `selector` + `[window]`.
pub fn query(field: Field, selector: &str, window_ms: i64) -> String {
    let secs = (window_ms + 999) / 1000;
    format!("{}{}[{}s]", field.metric(), selector.trim(), secs.max(1))
}

/// Milliseconds as the API's seconds with a fraction (`1700000000.250`).
pub fn api_time(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Why an answer is unusable. The texts are what the log line says.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    /// Not JSON at all (an HTML error page, a proxy's text) or cut short.
    #[error("the answer is not valid JSON ({why}); it starts {head:?}")]
    NotJson {
        /// serde's message.
        why: String,
        /// The first bytes, printable.
        head: String,
    },
    /// `"status":"error"`.
    #[error("the query failed on the server: {error_type}: {error}")]
    Server {
        /// `errorType`.
        error_type: String,
        /// `error`.
        error: String,
    },
    /// VictoriaMetrics cluster's `isPartial`: some storage nodes did not answer.
    #[error("the answer is partial (some storage nodes did not answer)")]
    Partial,
    /// A `success` without a matrix.
    #[error("the answer is not a matrix of raw samples ({0})")]
    Shape(String),
    /// A point that is not a finite number.
    #[error("{metric}{{{label}={host:?}}} at {at_ms} ms: value {value:?} is not a finite number")]
    Value {
        /// The metric.
        metric: &'static str,
        /// The host label's name.
        label: String,
        /// The host.
        host: String,
        /// The point's time.
        at_ms: i64,
        /// The text.
        value: String,
    },
}

#[derive(Deserialize)]
struct Response<'a> {
    status: &'a str,
    #[serde(default, borrow)]
    data: Option<Data<'a>>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(rename = "isPartial", default)]
    is_partial: bool,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType")]
    result_type: &'a str,
    #[serde(default, borrow)]
    result: Vec<Series<'a>>,
}

#[derive(Deserialize)]
struct Series<'a> {
    /// Borrowed from the answer where no escape forces a copy: 10,000
    /// hosts' series are read each cycle, and only one label is needed.
    #[serde(default, borrow)]
    metric: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(default, borrow)]
    values: Vec<(f64, &'a str)>,
}

/// The [`AnswerError::Server`] a body gives if it is a `"status":"error"`
/// answer: how Prometheus and VictoriaMetrics say why, beside a 400, 422 or
/// 503, they refuse a query.
pub fn refusal(bytes: &[u8]) -> Option<AnswerError> {
    let resp: Response = serde_json::from_slice(bytes).ok()?;
    (resp.status == "error").then(|| server_error(resp))
}

fn server_error(resp: Response) -> AnswerError {
    AnswerError::Server {
        error_type: resp.error_type.unwrap_or_else(|| "unknown".into()),
        error: resp
            .error
            .unwrap_or_else(|| format!("status {:?}", resp.status)),
    }
}

/// Reads an answer to [`query`] for `field`: each host's points, keyed by
/// the `host_label`'s value. Series without that label are left out; two
/// series of one host (two jobs) are merged by time.
pub fn parse(
    bytes: &[u8],
    field: Field,
    host_label: &str,
) -> Result<HashMap<String, Points>, AnswerError> {
    let resp: Response = serde_json::from_slice(bytes).map_err(|e| AnswerError::NotJson {
        why: strip_position(&e.to_string()),
        head: head(bytes),
    })?;
    if resp.status != "success" {
        return Err(server_error(resp));
    }
    if resp.is_partial {
        return Err(AnswerError::Partial);
    }
    let data = resp
        .data
        .ok_or_else(|| AnswerError::Shape("no data".into()))?;
    if data.result_type != "matrix" {
        return Err(AnswerError::Shape(format!(
            "resultType {:?}",
            data.result_type
        )));
    }
    let mut hosts: HashMap<String, Points> = HashMap::with_capacity(data.result.len());
    for s in data.result {
        let Some(host) = s.metric.get(host_label) else {
            continue;
        };
        let mut points = Vec::with_capacity(s.values.len());
        for (secs, text) in s.values {
            let at_ms = (secs * 1000.0).round() as i64;
            let Ok(value) = read_value(text) else {
                return Err(AnswerError::Value {
                    metric: field.metric(),
                    label: host_label.to_string(),
                    host: host.to_string(),
                    at_ms,
                    value: text.to_string(),
                });
            };
            if let Some(v) = value {
                points.push((at_ms, v * field.scale()));
            }
        }
        merge(hosts.entry(host.to_string()).or_default(), points);
    }
    Ok(hosts)
}

/// A point's value: `None` for a staleness marker (`NaN`), an error for
/// anything but a finite number >= 0.
fn read_value(text: &str) -> Result<Option<f64>, ()> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_nan() => Ok(None),
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(()),
    }
}

/// Adds `more` to `into`, keeping time order and one point per time.
fn merge(into: &mut Points, more: Points) {
    if into.is_empty() {
        *into = more;
        return;
    }
    into.extend(more);
    into.sort_by_key(|p| p.0);
    into.dedup_by_key(|p| p.0);
}

fn strip_position(text: &str) -> String {
    match text.rfind(" at line ") {
        Some(p) => text[..p].to_string(),
        None => text.to_string(),
    }
}

/// The first 40 bytes of `bytes`, control characters as spaces.
fn head(bytes: &[u8]) -> String {
    let n = bytes.len().min(40);
    String::from_utf8_lossy(&bytes[..n])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"__name__":"node_memory_MemAvailable_bytes","instance":"a:9100","job":"node"},"values":[[1700000000,"100"],[1700000015.5,"90"]]},
        {"metric":{"instance":"b:9100"},"values":[[1700000000,"7"]]},
        {"metric":{"job":"nohost"},"values":[[1700000000,"7"]]}]}}"#;

    fn e(text: &str) -> String {
        parse(text.as_bytes(), Field::MemAvailable, "instance")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_query_is_a_range_selector_at_an_explicit_time() {
        assert_eq!(
            query(Field::PsiSome, "{job=\"node\"}", 74_001),
            "node_pressure_memory_waiting_seconds_total{job=\"node\"}[75s]"
        );
        assert_eq!(
            query(Field::MemTotal, "", 10),
            "node_memory_MemTotal_bytes[1s]"
        );
        assert_eq!(api_time(1_700_000_000_250), "1700000000.250");
    }

    #[test]
    fn a_matrix_gives_each_hosts_points_with_their_own_times() {
        let hosts = parse(OK.as_bytes(), Field::MemAvailable, "instance").unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(
            hosts["a:9100"],
            vec![(1_700_000_000_000, 100.0), (1_700_000_015_500, 90.0)]
        );
        assert_eq!(hosts["b:9100"], vec![(1_700_000_000_000, 7.0)]);
        let psi = OK.replace("\"90\"", "\"0.5\"");
        let hosts = parse(psi.as_bytes(), Field::PsiSome, "job").unwrap();
        assert_eq!(hosts["node"][1].1, 500_000.0, "seconds to microseconds");
    }

    #[test]
    fn two_series_of_one_host_are_merged_by_time() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"a"},"values":[[2,"2"],[3,"3"]]},
            {"metric":{"instance":"a"},"values":[[1,"1"],[2,"2"]]}]}}"#;
        let hosts = parse(text.as_bytes(), Field::MemTotal, "instance").unwrap();
        assert_eq!(hosts["a"], vec![(1000, 1.0), (2000, 2.0), (3000, 3.0)]);
    }

    #[test]
    fn an_html_error_page_is_not_json() {
        let m = e("<html><body><h1>502 Bad Gateway</h1></body></html>");
        assert!(
            m.starts_with(
                "the answer is not valid JSON (expected value); it starts \"<html><body><h1>502"
            ),
            "{m}"
        );
    }

    #[test]
    fn a_truncated_answer_is_not_json() {
        let m = e(&OK[..OK.len() / 2]);
        assert!(m.contains("not valid JSON (EOF while parsing"), "{m}");
        assert!(e("").contains("not valid JSON"));
    }

    #[test]
    fn infinite_and_negative_values_name_the_host_and_time() {
        let m = e(&OK.replace("\"90\"", "\"+Inf\""));
        assert_eq!(m, "node_memory_MemAvailable_bytes{instance=\"a:9100\"} at 1700000015500 ms: value \"+Inf\" is not a finite number");
        assert!(e(&OK.replace("\"90\"", "\"-Inf\"")).contains("-Inf"));
        assert!(e(&OK.replace("\"90\"", "\"-1\"")).contains("\"-1\""));
        assert!(e(&OK.replace("\"90\"", "\"abc\"")).contains("\"abc\""));
    }

    /// Regression (issue 15's end-to-end run, tests/it/watch_e2e.rs): a
    /// stopped node_exporter's staleness marker made every cycle fail, so
    /// the watcher was blind to every host and paged `datasource_down`.
    #[test]
    fn a_staleness_marker_is_no_sample_not_a_bad_answer() {
        let stale = OK.replace("\"90\"", "\"NaN\"");
        let hosts = parse(stale.as_bytes(), Field::MemAvailable, "instance").unwrap();
        assert_eq!(hosts["a:9100"], vec![(1_700_000_000_000, 100.0)]);
        assert_eq!(hosts["b:9100"], vec![(1_700_000_000_000, 7.0)]);
        let only = OK.replace("\"7\"", "\"nan\"");
        let hosts = parse(only.as_bytes(), Field::MemAvailable, "instance").unwrap();
        assert_eq!(
            hosts["b:9100"],
            vec![],
            "a host with only a marker has no point"
        );
    }

    #[test]
    fn status_error_partial_and_wrong_shapes() {
        let m = e(r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#);
        assert_eq!(
            m,
            "the query failed on the server: timeout: query timed out"
        );
        let partial = OK.replacen(
            "{\"status\":\"success\",",
            "{\"status\":\"success\",\"isPartial\":true,",
            1,
        );
        assert_eq!(
            e(&partial),
            "the answer is partial (some storage nodes did not answer)"
        );
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(e(vector).contains("resultType \"vector\""));
        assert!(e(r#"{"status":"success"}"#).contains("no data"));
    }

    #[test]
    fn a_host_label_with_escapes_is_read_whole() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"web \"1\"\u00e9"},"values":[[1,"1"]]}]}}"#;
        let hosts = parse(text.as_bytes(), Field::MemTotal, "instance").unwrap();
        assert_eq!(hosts["web \"1\"\u{e9}"], vec![(1000, 1.0)]);
    }

    #[test]
    fn an_empty_matrix_is_no_hosts() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse(text.as_bytes(), Field::MemTotal, "instance")
            .unwrap()
            .is_empty());
    }
}
