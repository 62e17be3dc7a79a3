//! The rules `memcanary rules --target vmalert` exports, replayed by a real
//! vmalert (`vmalert -replay`) over every recording of the labelled corpus
//! (tests/fixtures/corpus/manifest.toml), against the detector on the same
//! recording (`memcanary replay --json`):
//!
//! - on a benign run vmalert fires nothing (what it does fire is listed in
//!   [`KNOWN`], with the detector's answer and why);
//! - on a borderline run of the evaluation set it fires no critical (on the
//!   tuning set, criticals only as the detector fires them);
//! - on an incident every alert fires within one evaluation of the
//!   detector's (or neither fires it).
//!
//! Each recording is imported once, under its own job (`corpus-SCRAPE-RUN`: the lab
//! gives one job name to several runs), and the recordings close in time are
//! replayed together, one `vmalert -replay` per group and scrape interval. A
//! recording's firings count only up to its last sample: past it vmalert sees
//! a silence the recording does not hold.
//!
//! Needs MEMCANARY_RULES_VM_URL (scripts/test.d/40-rules.sh) and vmalert; without
//! them it skips (`common::skip`). The differences and their costs are in
//! docs/rules.md ("vmalert -replay on the labelled corpus against the detector").

use crate::common::fixture;
use crate::rules_parity::{
    curl, detector_firings, memcanary_firings, replay, replay_rules, replayed_firings, which,
    without_nulls, EVAL_MS,
};
use memcanary::detect::{DetectorConfig, Severity};
use memcanary::eval::{Entry, Kind, Manifest, Set};
use memcanary::rules::build::{self, Options};
use memcanary::rules::load_trace;
use memcanary::rules::target::{Engine, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Recordings further apart than this are replayed separately (a replay's
/// cost grows with its span, and the corpus was recorded on three days).
const GROUP_GAP_MS: i64 = 3_600_000;

/// MetricsQL's range windows are left-open (see `rules_parity::KNOWN`).
const COLLAPSE: &str = "vmalert never: MetricsQL's left-open 2m window loses the peak one \
     evaluation early, so `for: 1m` is never met; the forecast warned earlier";
/// The detector's `for` spans failed scrapes; the rule's pending state does not.
const SWAP_GAP: &str = "after the host went dark: the detector's `for: 5m` runs through the \
     failed scrapes, the rule's pending state restarts (Prometheus: staleness) or carries \
     the last sample (MetricsQL); a warning after the criticals";
/// The rule reads the raw headroom ratio, the detector its median of three.
const RAW_ENTERS: &str = "vmalert earlier: its `< 0.05` reads the raw headroom, the detector \
     the median of three, one scrape later; the rule's 30 s `for` ends before the host goes \
     dark, the detector's at a failed scrape, so it fires only when data returns (or never)";
/// The detector's smoothed headroom lags the OOM kill's release.
const RAW_LEAVES: &str = "detector only, on the sample where the OOM kill freed memory: its \
     median-of-three headroom still reads 0.6 %, the raw sample the rule reads 55 %; the \
     OomKill critical fires at the same sample in both";
/// After a blackout, the slope is rebuilt on different windows.
const AFTER_DARK: &str = "after a 54 s blackout: the detector has no slope for a window, the \
     rule's subqueries (`[30s:15s]`, `offset 1m`) bridge or refill differently; criticals \
     (WentDark, OomKill, Thrashing) paged before, within one evaluation in both";

/// Where vmalert departs from the detector on a recording, with why; the
/// costs are in docs/rules.md: (recording, alert, why).
const KNOWN: [(&str, &str, &str); 19] = [
    ("incident-5s", "MemcanaryMemAvailableCollapse", COLLAPSE),
    ("incident-15s", "MemcanaryMemAvailableCollapse", COLLAPSE),
    ("slowdrain-1g-5s", "MemcanaryMemAvailableCollapse", COLLAPSE),
    (
        "slowdrain-1g-15s",
        "MemcanaryMemAvailableCollapse",
        COLLAPSE,
    ),
    ("edge-1g-15s", "MemcanaryMemAvailableCollapse", COLLAPSE),
    ("creep-768-15s", "MemcanaryMemAvailableCollapse", COLLAPSE),
    ("slowdrain-1g-5s", "MemcanarySwapLow", SWAP_GAP),
    ("slowdrain-1g-15s", "MemcanarySwapLow", SWAP_GAP),
    ("creep-768-5s", "MemcanarySwapLow", SWAP_GAP),
    ("creep-768-15s", "MemcanarySwapLow", SWAP_GAP),
    ("edge-1g-15s", "MemcanaryExhaustionImminent", RAW_ENTERS),
    ("creep-768-15s", "MemcanaryExhaustionImminent", RAW_ENTERS),
    ("slowleak-1g-5s", "MemcanaryExhaustionImminent", RAW_LEAVES),
    ("slowleak-1g-5s", "MemcanaryThrashing", RAW_LEAVES),
    ("slowleak-1g-15s", "MemcanaryThrashing", RAW_LEAVES),
    ("swarm-2g-5s", "MemcanaryExhaustionImminent", AFTER_DARK),
    ("swarm-2g-15s", "MemcanaryExhaustionImminent", AFTER_DARK),
    (
        "slowleak-768-5s",
        "MemcanaryWentDark",
        "detector only: three failed scrapes, 20 s without a sample; the detector wakes at \
         15 s of silence, the rule's 15 s window is empty for 5 s only and no 15 s evaluation \
         fell in them; the OomKill critical 11 s later in vmalert",
    ),
    (
        "slowleak-1g-15s",
        "MemcanaryHostSilent",
        "detector only, on the trace's last sample (`up`, 45 s after the last memory sample); \
         vmalert's next evaluation is past the trace's end, where the replay stops counting",
    ),
];

/// One recording, imported under its own job.
struct Recording {
    entry: Entry,
    /// Its name in reports and [`KNOWN`]: `RUN-SCRAPE` (`swarm-2g-5s`).
    label: String,
    /// The recording with `job` rewritten, nulls kept (what the detector reads).
    path: PathBuf,
    job: String,
    scrape: &'static str,
    scrape_ms: i64,
    origin_ms: i64,
    end_ms: i64,
}

/// Writes `src` with every series' `job` set to `job`.
fn relabel(src: &Path, dst: &Path, job: &str) {
    let text = std::fs::read_to_string(src).unwrap();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["metric"]["job"] = job.into();
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(dst, out).unwrap();
}

/// Every recording of the manifest, relabelled into `dir`.
fn recordings(dir: &Path) -> Vec<Recording> {
    let m = Manifest::load(&fixture("corpus/manifest.toml")).unwrap();
    m.entries
        .into_iter()
        .map(|entry| {
            assert!(
                entry.downsample.is_none(),
                "{}: downsampled entries are not replayed here",
                entry.name
            );
            let (scrape, scrape_ms) = if entry.name.ends_with("-5s") {
                ("5s", 5_000)
            } else {
                ("15s", 15_000)
            };
            let label = entry.name.trim_start_matches("export-").to_string();
            let run = label.strip_suffix(&format!("-{scrape}")).unwrap_or(&label);
            let job = format!("corpus-{scrape}-{run}");
            let path = dir.join(format!("{job}.jsonl"));
            relabel(&entry.file, &path, &job);
            let trace = load_trace(&path).unwrap();
            Recording {
                origin_ms: trace.origin_ms,
                end_ms: trace.origin_ms + trace.end_ms,
                entry,
                label,
                path,
                job,
                scrape,
                scrape_ms,
            }
        })
        .collect()
}

/// The recordings in replay groups: one scrape interval each, no gap over
/// [`GROUP_GAP_MS`] between them.
fn groups(mut recs: Vec<Recording>) -> Vec<Vec<Recording>> {
    recs.sort_by_key(|r| (r.scrape_ms, r.origin_ms));
    let mut out: Vec<Vec<Recording>> = Vec::new();
    for r in recs {
        let joins = out.last().is_some_and(|g| {
            g[0].scrape_ms == r.scrape_ms
                && g.iter().map(|x| x.end_ms).max().unwrap() + GROUP_GAP_MS >= r.origin_ms
        });
        if joins {
            out.last_mut().unwrap().push(r);
        } else {
            out.push(vec![r]);
        }
    }
    out
}

/// Each alert's severity, by name.
fn severities() -> BTreeMap<&'static str, Severity> {
    let o = Options {
        target: Target::new(Engine::Vmalert, None),
        selector: String::new(),
        interval_ms: EVAL_MS,
        scrape_interval_ms: EVAL_MS,
    };
    build::alert_specs(&DetectorConfig::default(), &o)
        .iter()
        .map(|s| (s.name, s.severity))
        .collect()
}

/// Imports every recording into `vm` in one request.
fn import_all(vm: &str, dir: &Path, recs: &[Recording]) {
    let body = dir.join("import.jsonl");
    let mut text = String::new();
    for r in recs {
        text.push_str(&without_nulls(&std::fs::read_to_string(&r.path).unwrap()));
    }
    std::fs::write(&body, text).unwrap();
    curl(&[
        "--data-binary",
        &format!("@{}", body.display()),
        &format!("{vm}/api/v1/import"),
    ]);
    curl(&[&format!("{vm}/internal/force_flush")]);
}

/// vmalert's first firing (ms) per (job, alertname) over one group,
/// each recording's cut at its last sample.
fn replay_group(vm: &str, vmalert: &Path, dir: &Path, group: &[Recording]) -> FirstFirings {
    // One pattern for the group: a list of its jobs would make queries
    // longer than VictoriaMetrics takes (`-search.maxQueryLen`); the other
    // recordings of this interval have no samples in the group's span.
    let jobs = format!("corpus-{}-.*", group[0].scrape);
    let from = group.iter().map(|r| r.origin_ms).min().unwrap();
    let to = group.iter().map(|r| r.end_ms).max().unwrap();
    curl(&[
        "-G",
        &format!("{vm}/api/v1/admin/tsdb/delete_series"),
        "--data-urlencode",
        &format!("match[]={{__name__=~\"ALERTS|ALERTS_FOR_STATE\",job=~\"{jobs}\"}}"),
    ]);
    let rules = replay_rules(dir, group[0].scrape, &jobs);
    replay(vmalert, vm, &rules, from, to);
    curl(&[&format!("{vm}/internal/force_flush")]);
    let ends: BTreeMap<&str, i64> = group.iter().map(|r| (r.job.as_str(), r.end_ms)).collect();
    let mut theirs = replayed_firings(vm, &jobs, from, to);
    theirs.retain(|(job, _), t| ends.get(job.as_str()).is_some_and(|end| *t <= *end));
    theirs
}

/// First firing (ms) per (job, alertname).
type FirstFirings = BTreeMap<(String, String), i64>;

/// What the judgement collects: report lines, failures, the [`KNOWN`]
/// differences seen.
#[derive(Default)]
struct Verdict {
    report: Vec<String>,
    failures: Vec<String>,
    known_seen: BTreeSet<(String, String)>,
}

/// One recording's verdict.
fn judge(
    r: &Recording,
    theirs: &FirstFirings,
    sev: &BTreeMap<&'static str, Severity>,
    out: &mut Verdict,
) {
    let of = |m: &FirstFirings| -> BTreeMap<String, i64> {
        m.iter()
            .filter(|((job, _), _)| *job == r.job)
            .map(|((_, a), t)| (a.clone(), *t))
            .collect()
    };
    let vm = of(theirs);
    let sim = of(&memcanary_firings(&r.path, r.scrape_ms));
    let instance = load_trace(&r.path).unwrap().hosts[0].instance.clone();
    let det = detector_firings(&r.path, &instance);
    let at = |m: &BTreeMap<String, i64>, a: &str| {
        m.get(a).map_or("-".to_string(), |t| {
            format!("{:+.0} s", (t - r.entry.start_ms) as f64 / 1000.0)
        })
    };
    let e = &r.entry;
    let alerts: BTreeSet<&String> = vm.keys().chain(det.keys()).chain(sim.keys()).collect();
    if alerts.is_empty() {
        out.report.push(format!(
            "{} ({:?}, {}): nothing fires",
            r.label,
            e.kind,
            e.set.as_str()
        ));
    }
    for a in alerts {
        let line = format!(
            "{} ({:?}, {}) {a}: vmalert {}, rules as memcanary evaluates them {}, detector {} \
             (from workload start)",
            r.label,
            e.kind,
            e.set.as_str(),
            at(&vm, a),
            at(&sim, a),
            at(&det, a),
        );
        let critical = sev.get(a.as_str()) == Some(&Severity::Critical);
        let wrong = departs(e, critical, vm.get(a), det.get(a));
        let known = KNOWN.iter().find(|(n, al, _)| *n == r.label && *al == a);
        match (wrong, known) {
            (false, _) => out.report.push(line),
            (true, Some((_, _, why))) => {
                out.known_seen.insert((r.label.clone(), a.clone()));
                out.report.push(format!("{line} (known: {why})"));
            }
            (true, None) => {
                out.report.push(line.clone());
                out.failures.push(line);
            }
        }
    }
}

/// Whether vmalert's first firing of an alert (`critical` or not) departs
/// from the detector's on a recording of `e`'s kind and set.
fn departs(e: &Entry, critical: bool, vmalert: Option<&i64>, detector: Option<&i64>) -> bool {
    match e.kind {
        Kind::Benign => vmalert.is_some(),
        // On the tuning set a borderline run may page as the detector does
        // (edge-2g touches the edge); on the evaluation set never.
        Kind::Borderline => {
            critical
                && vmalert.is_some()
                && (e.set == Set::Evaluation || !together(vmalert, detector))
        }
        Kind::Incident => !together(vmalert, detector),
    }
}

/// Both fire within one evaluation interval of each other, or neither fires.
fn together(vmalert: Option<&i64>, detector: Option<&i64>) -> bool {
    match (vmalert, detector) {
        (Some(v), Some(d)) => (v - d).abs() <= EVAL_MS,
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn vmalert_replay_on_the_corpus_follows_the_detector() {
    const NAME: &str = "vmalert_replay_on_the_corpus_follows_the_detector";
    let Ok(vm) = std::env::var("MEMCANARY_RULES_VM_URL") else {
        crate::common::skip(
            NAME,
            "MEMCANARY_RULES_VM_URL unset (scripts/test.d/40-rules.sh starts VictoriaMetrics)",
        );
        return;
    };
    let Some(vmalert) = which("vmalert") else {
        crate::common::skip(NAME, "vmalert not found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let recs = recordings(dir.path());
    assert!(recs.len() >= 60, "{} recordings", recs.len());
    import_all(&vm, dir.path(), &recs);
    let sev = severities();
    let mut out = Verdict::default();
    for group in groups(recs) {
        let theirs = replay_group(&vm, &vmalert, dir.path(), &group);
        for r in &group {
            judge(r, &theirs, &sev, &mut out);
        }
    }
    for (name, alert, _) in KNOWN {
        if !out
            .known_seen
            .contains(&(name.to_string(), alert.to_string()))
        {
            out.report.push(format!(
                "{name} {alert}: the known difference is gone (update KNOWN and docs/rules.md)"
            ));
        }
    }
    eprintln!(
        "vmalert -replay on the corpus, first firing:\n{}",
        out.report.join("\n")
    );
    assert!(
        out.failures.is_empty(),
        "vmalert departs from the detector:\n{}",
        out.failures.join("\n")
    );
}
