use super::*;
use crate::watch::answer::parse;

const HOST: &str = "a:9100";

/// Day 20,000's end, ms.
const END: i64 = 20_001 * DAY_MS;

fn plan(days: u32) -> HistoryPlan {
    HistoryPlan {
        hosts: vec![HOST.into(), "b:9100".into()],
        at_ms: END,
        days,
    }
}

/// A canned answer to one of the queries: `HOST`'s points at day ends.
fn answer(ask: Ask, points: &[(i64, &str)]) -> HashMap<String, Points> {
    let values: Vec<String> = points
        .iter()
        .map(|(t, v)| format!("[{},\"{v}\"]", t / 1000))
        .collect();
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"instance":"{HOST}"}},"values":[{}]}}]}}}}"#,
        values.join(",")
    );
    parse(body.as_bytes(), ask.field(), "instance").unwrap_or_default()
}

#[test]
fn the_queries_are_one_day_step_subqueries_over_the_days() {
    assert_eq!(
        query(Ask::MinRatio, r#"{job="node"}"#, 14),
        concat!(
            r#"min_over_time(((node_memory_MemAvailable_bytes{job="node"} + node_memory_SwapFree_bytes{job="node"})"#,
            r#" / (node_memory_MemTotal_bytes{job="node"} + node_memory_SwapTotal_bytes{job="node"}))[1d:1m])[14d:1d]"#
        )
    );
    assert_eq!(
        query(Ask::OomKills, "", 3),
        "increase(node_vmstat_oom_kill[1d])[3d:1d]"
    );
    assert_eq!(
        query(Ask::Samples, "{a=\"b\"}", 3),
        "count_over_time(node_memory_MemAvailable_bytes{a=\"b\"}[1d])[3d:1d]"
    );
}

#[test]
fn a_day_is_clean_without_an_oom_kill_and_with_enough_samples() {
    let d = |n: i64| END - n * DAY_MS;
    let mut a = DayAnswers::default();
    // Days 19,997 .. 20,000 (ends 3, 2, 1, 0 days before END), and one
    // point before the asked days.
    a.add(
        Ask::MinRatio,
        answer(
            Ask::MinRatio,
            &[
                (d(4), "0.1"),
                (d(3), "0.8"),
                (d(2), "0.2"),
                (d(1), "0.7"),
                (d(0), "0.75"),
            ],
        ),
    );
    // Day 19,998 had a kill; 19,999 only a few samples.
    a.add(
        Ask::OomKills,
        answer(Ask::OomKills, &[(d(2), "1"), (d(0), "0")]),
    );
    let n = |k: &str| k.to_string();
    let counts = [
        (d(4), n("5000")),
        (d(3), n("5760")),
        (d(2), n("5760")),
        (d(1), n("3")),
        (d(0), n("12")),
    ];
    let counts: Vec<(i64, &str)> = counts.iter().map(|(t, c)| (*t, c.as_str())).collect();
    a.add(Ask::Samples, answer(Ask::Samples, &counts));
    let got = clean_days(&a, &plan(4));
    let day = |day, r| DayMin {
        day,
        min_headroom_ratio: r,
    };
    assert_eq!(got[HOST], [day(19_997, 0.8), day(20_000, 0.75)]);
    assert_eq!(
        got["b:9100"],
        [],
        "a host the answer does not hold has no days"
    );
    assert_eq!(plan(4).through(), 20_000);
}

#[test]
fn the_plan_is_at_the_start_of_the_horizons_day_and_retried_after_a_failure() {
    let mut ask = FloorAsk::default();
    let t = 20_000 * DAY_MS + 3_600_000;
    assert_eq!(ask.plan(t, t, 14, vec![]), None, "no host, no query");
    let p = ask.plan(t, t - 7_200_000, 14, vec![HOST.into()]);
    assert_eq!(
        p.as_ref().map(|p| p.at_ms),
        Some(19_999 * DAY_MS),
        "the horizon is yesterday"
    );
    assert_eq!(
        ask.plan(t, t, 14, vec![HOST.into()]),
        None,
        "one request at a time"
    );
    assert!(ask.failed(t), "the first failure is reported");
    assert_eq!(ask.plan(t + RETRY_MS - 1, t, 14, vec![HOST.into()]), None);
    assert!(ask.plan(t + RETRY_MS, t, 14, vec![HOST.into()]).is_some());
    assert!(
        !ask.failed(t + RETRY_MS),
        "a second failure in a row is not"
    );
    ask.answered();
    assert!(ask.plan(t + RETRY_MS, t, 14, vec![HOST.into()]).is_some());
}

#[test]
fn long_histories_ask_the_days_minimum_in_chunks_of_fourteen_days() {
    let p = HistoryPlan {
        days: 30,
        ..plan(30)
    };
    assert_eq!(
        p.chunks(Ask::MinRatio),
        [(END, 14), (END - 14 * DAY_MS, 14), (END - 28 * DAY_MS, 2)]
    );
    assert_eq!(p.chunks(Ask::Samples), [(END, 30)]);
    assert_eq!(plan(14).chunks(Ask::MinRatio), [(END, 14)]);
}
