//! Annotation templates as data: rendered to Go template text for the rule
//! file, and expanded in Rust (same functions, same formatting) for the
//! alerts a generated unit test expects.

use super::expr::{Ctx, Expr};
use super::gofmt;

/// How a number is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fmt {
    /// `humanizeDuration` (seconds).
    Duration,
    /// `humanize1024` (bytes), followed by `B`.
    Bytes,
    /// `humanizePercentage` (a fraction).
    Percent,
    /// `printf "%.0f"` (a count).
    Count,
}

/// A piece of an annotation.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{{ $labels.instance }}`.
    Instance,
    /// `{{ $value | fmt }}`.
    Value(Fmt),
    /// A query for this alert's host, `{{ with ... | query }}...{{ end }}`.
    Query(Expr, Fmt),
}

/// An annotation: pieces in order.
pub type Template = Vec<Piece>;

/// Literal text.
pub fn text(s: impl Into<String>) -> Piece {
    Piece::Text(s.into())
}

impl Fmt {
    fn func(self) -> &'static str {
        match self {
            Fmt::Duration => "humanizeDuration",
            Fmt::Bytes => "humanize1024",
            Fmt::Percent => "humanizePercentage",
            Fmt::Count => "printf \"%.0f\"",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Fmt::Bytes => "B",
            _ => "",
        }
    }

    fn apply(self, v: f64) -> String {
        let s = match self {
            Fmt::Duration => gofmt::humanize_duration(v),
            Fmt::Bytes => gofmt::humanize1024(v),
            Fmt::Percent => gofmt::humanize_percentage(v),
            Fmt::Count => format!("{v:.0}"),
        };
        format!("{s}{}", self.suffix())
    }
}

/// The Go template text of an annotation.
pub fn render(t: &[Piece]) -> String {
    let mut s = String::new();
    for p in t {
        match p {
            Piece::Text(x) => s.push_str(x),
            Piece::Instance => s.push_str("{{ $labels.instance }}"),
            Piece::Value(f) => {
                s.push_str(&format!("{{{{ $value | {} }}}}{}", f.func(), f.suffix()));
            }
            Piece::Query(e, f) => s.push_str(&query_text(e, *f)),
        }
    }
    s
}

/// `{{ with printf `EXPR` $labels.instance $labels.job | query }}...`: the
/// expression with this alert's host in every selector.
fn query_text(e: &Expr, f: Fmt) -> String {
    let q = e.render("instance=%q,job=%q");
    let args = " $labels.instance $labels.job".repeat(q.matches("%q").count() / 2);
    format!(
        "{{{{ with printf `{q}`{args} | query }}}}{{{{ . | first | value | {} }}}}{}{{{{ end }}}}",
        f.func(),
        f.suffix()
    )
}

/// The expanded annotation for a host whose alert has `value` at `t`.
pub fn expand(t: &[Piece], instance: &str, value: f64, cx: Ctx<'_>, at: i64) -> String {
    let mut s = String::new();
    for p in t {
        match p {
            Piece::Text(x) => s.push_str(x),
            Piece::Instance => s.push_str(instance),
            Piece::Value(f) => s.push_str(&f.apply(value)),
            Piece::Query(e, f) => {
                if let Some(v) = e.eval(cx, at) {
                    s.push_str(&f.apply(v));
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::expr::build::*;
    use crate::rules::expr::Op;

    #[test]
    fn query_pieces_put_the_host_in_every_selector() {
        let e = bin(
            Op::Add,
            m("node_memory_MemAvailable_bytes"),
            m("node_memory_SwapFree_bytes"),
        );
        let t = render(&[text("left "), Piece::Query(e, Fmt::Bytes)]);
        assert_eq!(
            t,
            "left {{ with printf `node_memory_MemAvailable_bytes{instance=%q,job=%q} + \
             node_memory_SwapFree_bytes{instance=%q,job=%q}` $labels.instance $labels.job \
             $labels.instance $labels.job | query }}{{ . | first | value | humanize1024 }}B{{ end }}"
        );
    }
}
