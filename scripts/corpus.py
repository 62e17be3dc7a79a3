#!/usr/bin/env python3
"""Labels of the lab corpus (tests/fixtures/corpus/), from ground truth only.

    scripts/corpus.py notes RUN LAB_TRACEDIR RUNS_LOG   # writes tests/fixtures/corpus/RUN/notes.md
    scripts/corpus.py manifest                          # writes tests/fixtures/corpus/manifest.toml
    scripts/corpus.py table                             # the recorded runs, markdown

A run's label comes from its ground truth (the guest's serial log: GT lines, LAB EVENT lines,
kernel OOM lines) and from the scrapes that failed, never from what a detector says about it:

- workload_start: the `LAB EVENT ... workload_start` line (host clock; idle: its only LAB EVENT);
- a failed scrape (up == 0, 5 s or 15 s job; not one in flight at the power-off) counts when the host is short of memory (in the
  30 s before it, GT MemAvailable < 5 % of MemTotal or PSI some avg10 >= 10); the host is
  dark when such failures run on for 30 s or more (5 s job: 6 in a row; 15 s job: 2);
- kind: incident when there is an OOM kill or the host went dark; else borderline when GT
  MemAvailable went below 5 % of MemTotal after the workload start, or a scrape failed
  (briefly) while short of memory; else benign;
- cliff (incidents only): the first OOM kill (kernel `Killed process` line or the GT oom_kill
  counter) or the first counted failed scrape, whichever is first.
"""
import csv
import datetime
import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fixtures", "corpus")
EDGE = 0.05          # MemAvailable / MemTotal below which a run "touched the edge"
PSI_PRESSED = 10.0   # PSI some avg10 (%) that makes a failed scrape a memory failure
LOOKBACK = 30.0      # seconds of ground truth before a failed scrape that are checked
DARK = 30            # seconds of consecutive failed scrapes that make a host "dark"

# The runs recorded before the corpus (tuning set: the detector was built on them).
EXTERNAL = [
    ("incident", "../traces/incident", "incident", 1024, "16-worker swarm, RAMP 420: livelock, dark until power-off (lab, 2026-11-27)"),
    ("fast-spike", "../traces/fast-spike", "fast-spike", 1024, "one process touches 2x(RAM+swap) at once (lab, 2026-11-27)"),
    ("benign-high", "../traces/benign-high", "benign-high", 1024, "plateau at 70 %, 14 % transient for 40 s (lab, 2026-11-27)"),
    ("cache-heavy", "../traces/cache-heavy", "cache-heavy", 1024, "page-cache heavy reads, PSI 2-5 % (lab, 2026-11-27)"),
]


def iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_plan():
    rows = []
    with open(os.path.join(CORPUS, "plan.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            run, set_, design, scen, mem, swap, secs, knobs, what = line.rstrip("\n").split("\t")
            rows.append(dict(run=run, set=set_, design=design, scenario=scen, mem=int(mem), swap=int(swap),
                             seconds=int(secs), knobs="" if knobs == "-" else knobs, what=what))
    return rows


def read_gt(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]


def failed_scrapes(export_path):
    """Runs of consecutive up == 0 after the first successful scrape: [[first, last], ...] (s)."""
    with open(export_path) as f:
        for line in f:
            j = json.loads(line)
            if j["metric"]["__name__"] != "up":
                continue
            pts = sorted(zip(j["timestamps"], j["values"]))
            first_ok = next((t for t, v in pts if v == 1), None)
            if first_ok is None:
                return []
            runs, prev_failed = [], False
            for t, v in pts:
                if t <= first_ok:
                    continue
                if v == 0 and prev_failed:
                    runs[-1][1] = t / 1000
                elif v == 0:
                    runs.append([t / 1000, t / 1000])
                prev_failed = v == 0
            return runs
    return []


def label(summ, gt, exports):
    """kind, workload_start, cliff (None for benign/borderline), and why, from ground truth."""
    # idle has no workload: its start is its only LAB EVENT line ("idle scenario ...")
    ws = summ["workload_start"] or summ["events"][0][0]
    end = summ.get("power_off") or float("inf")
    mt = gt[0]["MemTotal"]

    def short_of_memory(t):
        return any(t - LOOKBACK <= r["host_ts"] <= t + 1 and
                   (r["MemAvailable"] < EDGE * mt or r.get("psi_some_avg10", 0) >= PSI_PRESSED) for r in gt)

    events = []
    for t, _ in summ.get("oom_kills_kernel_log", []):
        if t >= ws:
            events.append((t, "first OOM kill (kernel log)"))
    if summ.get("first_oom_kill_gt") and summ["first_oom_kill_gt"] >= ws:
        events.append((summ["first_oom_kill_gt"], "first OOM kill (GT oom_kill counter)"))
    unrelated, short_fails, dark = [], [], False
    for iv, path in exports:
        # a scrape still in flight at the power-off (timeout 4 s / 10 s) did not fail on its own
        cut = end - {"5s": 4, "15s": 10}[iv]
        fails = [[a, min(b, cut)] for a, b in failed_scrapes(path) if ws <= a < cut]
        pressed = [r for r in fails if short_of_memory(r[0])]
        unrelated += [(iv, r[0]) for r in fails if not pressed or r[0] < pressed[0][0]]
        if pressed:
            short_fails.append((pressed[0][0], f"first failed scrape ({iv} job)"))
        # dark: failures covering DARK s or more (5 s job: 6 in a row, 15 s job: 2)
        dark |= any(min(b, end) - a + int(iv.rstrip("s")) >= DARK for a, b in pressed)
    min_avail = min(r["MemAvailable"] for r in gt if r["host_ts"] >= ws)
    if events or dark:
        t, why = min(events + short_fails)
        return "incident", ws, t, why, min_avail / mt, unrelated
    kind = "borderline" if min_avail < EDGE * mt or short_fails else "benign"
    why = None
    if short_fails:
        t, what = min(short_fails)
        why = f"{what} at {iso(t)}, short of memory, but no dark spell and no OOM kill"
    return kind, ws, None, why, min_avail / mt, unrelated


def run_label(d, job_files):
    summ = json.load(open(os.path.join(d, "summary.json")))
    gtp = os.path.join(d, "gt.csv.gz")
    gt = read_gt(gtp if os.path.exists(gtp) else os.path.join(d, "gt.csv"))
    return summ, label(summ, gt, [(iv, os.path.join(d, f)) for iv, f in job_files])


def files_of(run, d, scen):
    names = [(iv, f"export-{run}-{iv}.jsonl") for iv in ("5s", "15s")]
    if not os.path.exists(os.path.join(d, names[0][1])):
        names = [(iv, f"export-{scen}-{iv}.jsonl") for iv in ("5s", "15s")]
    return names


def overlaps(run, runs_log):
    """Other runs whose [start, end] overlapped this run's, and the host load seen at start/end."""
    spans, loads = {}, {}
    for line in open(runs_log):
        t, what, r, *rest = line.split()
        spans.setdefault(r, [None, None])[0 if what == "start" else 1] = float(t)
        loads.setdefault(r, []).append(" ".join(rest))
    s, e = spans[run]
    inf = float("inf")
    others = [r for r, (a, b) in spans.items() if r != run and a < (e or inf) and (b or inf) > s]
    # most guests running at once during this run (at every start inside the run's span)
    points = [s] + [spans[r][0] for r in others if spans[r][0] > s]
    most = max(sum(1 for a, b in spans.values() if a <= t < (b or inf)) for t in points)
    return others, most, loads.get(run, [])


def summ_mt(d):
    return read_gt(os.path.join(d, "gt.csv.gz"))[0]["MemTotal"] / 1024


def notes(run, tdir, runs_log):
    p = next(r for r in read_plan() if r["run"] == run)
    d = os.path.join(CORPUS, run)
    summ, (kind, ws, cliff, why, min_av, unrelated) = run_label(d, files_of(run, d, p["scenario"]))
    others, most, loads = overlaps(run, runs_log)
    t0 = summ["host_start"]
    rel = lambda t: f"T+{t - t0:.0f}s ({iso(t)})"
    L = [f"# {run}: {p['what']}", "",
         f"- scenario `{p['scenario']}` (lab/guest/scenarios/{p['scenario']}.sh), knobs: "
         f"{' '.join('lab.' + k for k in p['knobs'].split()) or 'defaults'}",
         f"- guest: MEM={p['mem']} MiB (MemTotal {summ_mt(d):.0f} MiB), "
         f"SWAP_MIB={p['swap']}, 2 vCPU, TCG; run {p['seconds']} s then hard power-off",
         f"- set: {p['set']}; designed as {p['design']}; ground-truth label: **{kind}**",
         f"- concurrency: at most {most} guest(s) at once"
         f"{' (beside ' + ', '.join(others) + ')' if others else ' (alone)'}; host load (1/5/15 min) at start, end: "
         f"{', '.join(l.replace('load=', '') for l in loads)} (other helpers compiled Rust on the same 2 cores)",
         f"- workload start: {rel(ws)}",
         f"- cliff: {rel(cliff) + ' = ' + why if cliff else 'none' + ('; ' + why if why else '')}",
         f"- min GT MemAvailable after workload start: {min_av * 100:.1f} % of MemTotal"]
    for iv, t in unrelated:
        L.append(f"- failed scrape ({iv} job) at {rel(t)} with no memory shortage in the GT (host CPU contention), not a cliff")
    auto = os.path.join(tdir, "notes-auto.md")
    L += ["", "## Timeline (lab/bin/analyze.py)", ""] + open(auto).read().split("\n", 1)[1].strip("\n").splitlines()
    open(os.path.join(d, "notes.md"), "w").write("\n".join(L).rstrip() + "\n")
    print(f"{run}: {kind}, workload_start {iso(ws)}, cliff {iso(cliff) if cliff else '-'} ({why or '-'})")


def entry(file, run, kind, set_, iv, mib, ws, cliff, note):
    L = ["[[trace]]", f'file = "{file}"', f'run = "{run}"', f'kind = "{kind}"', f'set = "{set_}"',
         f'scrape = "{iv}"', f"guest_mib = {mib}", f'workload_start = "{iso(ws)}"']
    if cliff is not None:
        L.append(f'cliff = "{iso(cliff)}"')
    L.append(f"notes = {json.dumps(note)}")
    return "\n".join(L) + "\n"


def manifest():
    out = ["# The lab corpus, labelled from ground truth only (scripts/corpus.py, README.md here).",
           "# One entry per recording file; a run's 5 s and 15 s files are in the same set.", ""]
    for run, rel_dir, scen, mib, note in EXTERNAL:
        d = os.path.normpath(os.path.join(CORPUS, rel_dir))
        files = files_of(run, d, scen)
        _, (kind, ws, cliff, _, _, _) = run_label(d, files)
        for iv, f in files:
            out.append(entry(f"{rel_dir}/{f}", run, kind, "tuning", iv, mib, ws, cliff, note))
    s184 = json.load(open(os.path.join(CORPUS, "..", "incident-184", "summary.json")))
    # scripts/make-incident-184.py: last good scrape 03:15 PDT, the next one (03:15:15) fails.
    out.append(entry("../incident-184/export-kai-server-15s.jsonl", "incident-184", "incident", "tuning", "15s",
                     31 * 1024, s184["workload_start"], s184["workload_start"] + 15 * 60 + 15,
                     "reconstruction of the user's incident (31 GiB, 2 GiB swap): build at 03:00 PDT, dark from 03:15:15"))
    pending = []
    for p in read_plan():
        d = os.path.join(CORPUS, p["run"])
        if not os.path.exists(os.path.join(d, "summary.json")):
            pending.append(f"# planned, not recorded yet: run {p['run']} set {p['set']} ({p['design']} by design)")
            continue
        _, (kind, ws, cliff, _, _, _) = run_label(d, files_of(p["run"], d, p["scenario"]))
        knobs = ", ".join(p["knobs"].split()) or "defaults"
        note = f"{p['scenario']} ({knobs}): {p['what']}"
        for iv, f in files_of(p["run"], d, p["scenario"]):
            out.append(entry(f"{p['run']}/{f}", p["run"], kind, p["set"], iv, p["mem"], ws, cliff, note))
    open(os.path.join(CORPUS, "manifest.toml"), "w").write("\n".join(out + pending).rstrip() + "\n")


def table():
    """The recorded runs as a markdown table (for README.md)."""
    print("| run | set | kind (GT) | guest MiB | workload start | cliff | lead window | min MemAvailable |")
    print("|---|---|---|---|---|---|---|---|")
    for p in read_plan():
        d = os.path.join(CORPUS, p["run"])
        if not os.path.exists(os.path.join(d, "summary.json")):
            print(f"| {p['run']} | {p['set']} | not recorded | {p['mem']} | | | | |")
            continue
        _, (kind, ws, cliff, why, min_av, _) = run_label(d, files_of(p["run"], d, p["scenario"]))
        window = f"{cliff - ws:.0f} s" if cliff else ""
        print(f"| {p['run']} | {p['set']} | {kind} | {p['mem']} | {iso(ws)} | "
              f"{iso(cliff) + ' (' + why + ')' if cliff else ''} | {window} | {min_av * 100:.1f} % |")


if __name__ == "__main__":
    if sys.argv[1] == "notes":
        notes(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "manifest":
        manifest()
    elif sys.argv[1] == "table":
        table()
    else:
        sys.exit(__doc__)
