//! Prometheus (and VictoriaMetrics) `/api/v1/query_range` JSON: one
//! document, `data.result` a list of series with `[seconds, "value"]` points.
//!
//! Such responses are small next to an export, so serde does the work. The
//! points are checked while they are deserialized, so serde's line and column
//! land on the bad point, and the message names the series when its
//! `metric` came first (it always does in Prometheus' output).

use super::assemble::{Chunk, Collector, HostKey};
use super::error::{Pos, Problem, RecordedError};
use super::number::{check_value, secs_to_ms};
use super::vm_line::Labels;
use super::HostSeries;
use crate::signal::node_exporter::Field;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// Reads a whole response, refusing one larger than `limit` bytes (the
/// error names the line where the limit was reached).
pub(super) fn read_response(
    reader: impl Read,
    origin: &str,
    limit: usize,
) -> Result<Vec<u8>, RecordedError> {
    let mut bytes = Vec::new();
    let capped = reader.take(limit as u64 + 1).read_to_end(&mut bytes);
    capped.map_err(|source| RecordedError::Io {
        origin: origin.to_string(),
        source,
    })?;
    if bytes.len() > limit {
        let line = memchr::memchr_iter(b'\n', &bytes[..limit]).count() as u64 + 1;
        let p = Problem::ResponseTooLarge {
            limit_bytes: limit as u64,
        };
        return Err(RecordedError::at(origin, Pos::Line(line), None, p));
    }
    Ok(bytes)
}

/// Parses a Prometheus `query_range` response (`resultType` `matrix`).
///
/// `"status":"error"` becomes [`RecordedError::ServerError`] quoting the
/// server's `errorType` and `error`; the server's `warnings` are passed on to
/// every host.
pub fn parse_prom_query_range(
    bytes: &[u8],
    origin: &str,
) -> Result<Vec<HostSeries>, RecordedError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RecordedError::Empty {
            origin: origin.to_string(),
        });
    }
    let resp: Response = serde_json::from_slice(bytes).map_err(|e| convert(origin, &e))?;
    let format = |msg: String| RecordedError::at(origin, Pos::Line(1), None, Problem::Format(msg));
    if resp.status != "success" {
        return Err(RecordedError::ServerError {
            origin: origin.to_string(),
            error_type: resp.error_type.unwrap_or_else(|| "unknown".into()),
            error: (resp.error).unwrap_or_else(|| format!("status {:?}", resp.status)),
        });
    }
    let data = resp
        .data
        .ok_or_else(|| format("no \"data\" in a successful response".into()))?;
    if data.result_type != "matrix" {
        return Err(format(format!(
            "resultType is {:?}; replay needs a range query (\"matrix\")",
            data.result_type
        )));
    }
    let mut c = Collector::new(origin);
    for w in resp.warnings {
        c.note(format!("{origin}: the server warned: {w}"));
    }
    for (i, series) in data.result.into_iter().enumerate() {
        add_series(&mut c, i as u64, series);
    }
    c.finish()
}

fn add_series(c: &mut Collector, index: u64, s: PromSeries) {
    let key = HostKey {
        instance: s.labels.instance,
        job: s.labels.job,
    };
    let field = s.labels.name.as_deref().and_then(Field::from_metric);
    match field {
        Some(field) => {
            let vals = s.vals.iter().map(|v| v * field.scale()).collect();
            let at = Pos::Item(index);
            let ts = Arc::new(s.ts);
            c.add_chunk(key, field, Chunk { at, ts, vals });
        }
        None => {
            if let Some(&t) = s.ts.last() {
                c.add_end(key, t);
            }
        }
    }
}

/// serde's error as ours: its line and column, its message without them.
fn convert(origin: &str, e: &serde_json::Error) -> RecordedError {
    let text = e.to_string();
    let msg = match text.rfind(" at line ") {
        Some(p) => text[..p].to_string(),
        None => text,
    };
    let problem = match e.classify() {
        serde_json::error::Category::Data => Problem::Format(msg),
        _ => Problem::Syntax(msg),
    };
    let at = Pos::LineCol(e.line() as u64, e.column() as u64);
    RecordedError::at(origin, at, None, problem)
}

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<PromSeries>,
}

/// One series of the result, its points checked.
struct PromSeries {
    labels: Labels,
    ts: Vec<i64>,
    vals: Vec<f64>,
}

impl<'de> Deserialize<'de> for PromSeries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(SeriesVisitor)
    }
}

struct SeriesVisitor;

impl<'de> Visitor<'de> for SeriesVisitor {
    type Value = PromSeries;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series object with \"metric\" and \"values\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PromSeries, A::Error> {
        let mut labels: Option<Labels> = None;
        let mut points: Option<(Vec<i64>, Vec<f64>)> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metric" => labels = Some(map.next_value()?),
                "values" => {
                    points = Some(map.next_value_seed(PointsSeed(Ctx::new(labels.as_ref())))?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let labels = labels.unwrap_or_default();
        let (ts, vals) = points.unwrap_or_default();
        // `values` before `metric`: the values were not checked as measurements.
        let ctx = Ctx::new(Some(&labels));
        if let Some(field) = ctx.field {
            for (&t, &v) in ts.iter().zip(&vals) {
                check_value(v, field, v.to_string().as_bytes())
                    .map_err(|p| ctx.fail(format!("at {t} ms: {p}")))?;
            }
        }
        Ok(PromSeries { labels, ts, vals })
    }
}

/// What the points deserializer knows about its series.
struct Ctx {
    field: Option<Field>,
    name: String,
}

impl Ctx {
    fn new(labels: Option<&Labels>) -> Ctx {
        let Some(l) = labels else {
            return Ctx {
                field: None,
                name: "series".into(),
            };
        };
        let key = HostKey {
            instance: l.instance.clone(),
            job: l.job.clone(),
        };
        let metric = l.name.as_deref().unwrap_or("");
        Ctx {
            field: Field::from_metric(metric),
            name: key.describe(metric),
        }
    }

    fn fail<E: de::Error>(&self, what: impl fmt::Display) -> E {
        E::custom(format!("{}: {what}", self.name))
    }
}

struct PointsSeed(Ctx);

impl<'de> DeserializeSeed<'de> for PointsSeed {
    type Value = (Vec<i64>, Vec<f64>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PointsSeed {
    type Value = (Vec<i64>, Vec<f64>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [seconds, \"value\"] points")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let ctx = &self.0;
        let (mut ts, mut vals): (Vec<i64>, Vec<f64>) = (Vec::new(), Vec::new());
        while let Some((secs, text)) = seq.next_element::<(f64, String)>()? {
            let t = secs_to_ms(secs)
                .ok_or_else(|| ctx.fail(Problem::BadTimestamp(secs.to_string())))?;
            let v = point_value(ctx, &text)?;
            match ts.last() {
                Some(&prev) if t < prev => {
                    return Err(ctx.fail(Problem::OutOfOrder {
                        prev_ms: prev,
                        ts_ms: t,
                    }))
                }
                Some(&prev) if t == prev => {
                    let first = vals.last().copied().unwrap_or(v);
                    if first != v {
                        return Err(ctx.fail(format!(
                            "timestamp {t} appears twice with different values: {first} and {v}"
                        )));
                    }
                }
                _ => {
                    ts.push(t);
                    vals.push(v);
                }
            }
        }
        Ok((ts, vals))
    }
}

/// A point's value: a number in a string, checked if the metric is known.
fn point_value<E: de::Error>(ctx: &Ctx, text: &str) -> Result<f64, E> {
    let v: f64 =
        (text.trim().parse()).map_err(|_| ctx.fail(Problem::NotANumber(text.to_string())))?;
    if !v.is_finite() {
        return Err(ctx.fail(Problem::NotFinite(text.to_string())));
    }
    if let Some(field) = ctx.field {
        check_value(v, field, text.as_bytes()).map_err(|p| ctx.fail(p))?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: &str) -> String {
        format!(
            r#"{{"metric":{{"__name__":"{name}","instance":"h:9100","job":"node"}},"values":[{points}]}}"#
        )
    }

    fn doc(result: &[String]) -> String {
        format!(
            "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[\n{}\n]}}}}",
            result.join(",\n")
        )
    }

    fn required(points: &str) -> Vec<String> {
        crate::signal::node_exporter::REQUIRED
            .iter()
            .map(|m| series(m, points))
            .collect()
    }

    fn err(text: &str) -> String {
        parse_prom_query_range(text.as_bytes(), "q.json")
            .unwrap_err()
            .to_string()
    }

    const OK: &str = r#"[1435781430.781,"1"],[1435781445.781,"2"]"#;

    /// Regression (issue 14): a response was read whole whatever its size.
    #[test]
    fn a_response_over_the_cap_names_the_line_where_it_was_reached() {
        let text = doc(&required(OK));
        let e = read_response(text.as_bytes(), "q.json", 80).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("q.json: line 2: response larger than 80 bytes"),
            "{e}"
        );
        let endless = std::io::repeat(b' ');
        assert!(read_response(endless, "zero", 1 << 20).is_err());
        let whole = read_response(text.as_bytes(), "q.json", text.len()).unwrap();
        assert_eq!(whole, text.as_bytes());
    }

    #[test]
    fn a_matrix_gives_samples_with_millisecond_times() {
        let mut r = required(OK);
        r.push(series(
            crate::signal::node_exporter::PSI_SOME,
            r#"[1435781445.781,"0.25"]"#,
        ));
        let hosts = parse_prom_query_range(doc(&r).as_bytes(), "q.json").unwrap();
        let h = &hosts[0];
        assert_eq!(h.instance, "h:9100");
        assert_eq!(h.samples.len(), 2);
        assert_eq!(h.samples[0].at_ms, 1_435_781_430_781);
        assert_eq!(h.samples[1].psi_some_total_us, Some(250_000));
        assert_eq!(h.samples[0].psi_some_total_us, None);
    }

    #[test]
    fn status_error_quotes_the_server() {
        let e = err(r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#);
        assert_eq!(
            e,
            "q.json: the query failed on the server: bad_data: parse error at char 5"
        );
    }

    #[test]
    fn a_bad_value_names_line_and_series() {
        let mut r = required(OK);
        r[2] = series(
            crate::signal::node_exporter::SWAP_TOTAL,
            r#"[1435781430.781,"abc"]"#,
        );
        let e = err(&doc(&r));
        assert!(e.starts_with("q.json: line 4 column "), "{e}");
        assert!(e.contains(r#"node_memory_SwapTotal_bytes{instance="h:9100",job="node"}: value "abc" is not a number"#), "{e}");
    }

    #[test]
    fn nan_negative_and_disorder_are_errors_on_their_line() {
        for (points, want) in [
            (r#"[1,"NaN"]"#, "is not finite"),
            (r#"[1,"+Inf"]"#, "is not finite"),
            (r#"[1,"-3"]"#, "value -3 is negative"),
            (r#"[2,"1"],[1,"1"]"#, "timestamp 1000 comes after 2000"),
            (
                r#"[1,"1"],[1,"2"]"#,
                "timestamp 1000 appears twice with different values: 1 and 2",
            ),
            (r#"["x","1"]"#, "invalid type"),
        ] {
            let mut r = required(OK);
            r[1] = series(crate::signal::node_exporter::MEM_AVAILABLE, points);
            let e = err(&doc(&r));
            assert!(e.starts_with("q.json: line 3 column "), "{points}: {e}");
            assert!(e.contains(want), "{points}: {e}");
        }
    }

    #[test]
    fn equal_duplicates_are_dropped() {
        let mut r = required(OK);
        let dup = r#"[1435781430.781,"1"],[1435781445.781,"2"],[1435781445.781,"2"]"#;
        r[1] = series(crate::signal::node_exporter::MEM_AVAILABLE, dup);
        let hosts = parse_prom_query_range(doc(&r).as_bytes(), "q").unwrap();
        assert_eq!(hosts[0].samples.len(), 2);
    }

    #[test]
    fn values_before_metric_are_still_checked() {
        let s = r#"{"values":[[1,"-1"]],"metric":{"__name__":"node_memory_MemTotal_bytes","instance":"h"}}"#;
        let e = err(&doc(&[s.to_string()]));
        assert!(
            e.contains("line 2 column") && e.contains("is negative"),
            "{e}"
        );
    }

    #[test]
    fn malformed_json_empty_input_and_wrong_result_types() {
        let e = err("{\"status\":\n\"success\",");
        assert!(
            e.starts_with("q.json: line 2 column 10: malformed input"),
            "{e}"
        );
        assert_eq!(err(" \n"), "q.json: file is empty");
        let e = err(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert!(e.contains("replay needs a range query"), "{e}");
        let e = err(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#);
        assert_eq!(e, "no node_memory_* series found in q.json");
    }
}
