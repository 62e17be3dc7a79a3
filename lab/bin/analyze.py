#!/usr/bin/python3
"""analyze.py SCENARIO: parse serial ground truth + victoria-metrics export, write gt.csv, summary.json, notes.md (auto part)."""
import json, re, sys, os, datetime
# memcanary copy: default work dir as build-guest.sh
LAB = __import__("os").environ.get("LAB", "/var/tmp/memcanary-lab-agent"); scen = sys.argv[1]; T = f"{LAB}/traces/{sys.argv[2] if len(sys.argv) > 2 else scen}"
def iso(t): return datetime.datetime.utcfromtimestamp(t).strftime("%H:%M:%S") if t else "-"
hev = {}
for l in open(f"{T}/host-events.log"):
    ts, what = l.split(" ", 1); k = what.split()[0]; hev.setdefault(k, float(ts))
    if k == "final_probe": hev["final_probe_text"] = what.strip()
t0 = hev["host_start"]
gt, events, kmsg = [], [], []
for l in open(f"{T}/serial.log", errors="replace"):
    m = re.match(r"^(\d+\.\d+) (.*)$", l.rstrip("\n"))
    if not m: continue
    ht, rest = float(m.group(1)), m.group(2)
    if rest.startswith("GT "):
        d = dict(re.findall(r"(\w+)=(-?\d+)", rest.split(" load=")[0]))
        if "MemAvailable" not in d or "SwapFree" not in d or "oom_kill" not in d: continue  # memcanary copy: a line cut by the power-off
        psi = re.findall(r"(some|full) avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+) total=(\d+)", rest)
        row = {"host_ts": ht, "guest_ts": float(rest.split()[1])}
        row.update({k: int(v) for k, v in d.items()})
        for kind, a10, a60, a300, tot in psi:
            row[f"psi_{kind}_avg10"] = float(a10); row[f"psi_{kind}_total_us"] = int(tot)
        gt.append(row)
    elif "LAB EVENT" in rest:
        events.append((ht, rest.split("LAB EVENT ", 1)[1]))
    elif re.search(r"Out of memory|Killed process|oom-kill|invoked oom-killer|blocked for more than|soft lockup|page allocation failure", rest):
        kmsg.append((ht, rest.strip()))
# ground-truth CSV
cols = ["host_ts", "guest_ts", "MemTotal", "MemFree", "MemAvailable", "Cached", "Shmem", "SwapTotal", "SwapFree", "AnonPages",
        "pgmajfault", "pswpin", "pswpout", "oom_kill", "psi_some_avg10", "psi_full_avg10", "psi_some_total_us", "psi_full_total_us"]
with open(f"{T}/gt.csv", "w") as f:
    f.write(",".join(cols) + "\n")
    for r in gt: f.write(",".join(str(r.get(c, "")) for c in cols) + "\n")
def first(pred):
    for r in gt:
        if pred(r): return r["host_ts"]
ws = next((t for t, e in events if "workload_start" in e), None)
first_swap = first(lambda r: r["SwapFree"] < r["SwapTotal"])
oom_gt = first(lambda r: r.get("oom_kill", 0) > 0)
last_gt = gt[-1]["host_ts"] if gt else None
# longest silence of the ground-truth monitor (serial) after workload start
gaps = [(gt[i]["host_ts"], gt[i+1]["host_ts"] - gt[i]["host_ts"]) for i in range(len(gt) - 1)]
gt_max_gap = max(gaps, key=lambda g: g[1]) if gaps else (None, 0)
summ = {"scenario": scen, "host_start": t0, "workload_start": ws, "first_swap_use": first_swap,
        "first_oom_kill_gt": oom_gt, "last_gt_line": last_gt, "power_off": hev.get("power_off"), "host_end": hev.get("host_end"),
        "final_probe": hev.get("final_probe_text"), "gt_samples": len(gt), "gt_longest_silence_s": round(gt_max_gap[1], 1), "gt_longest_silence_at": gt_max_gap[0],
        "min_MemAvailable_MiB": min(r["MemAvailable"] for r in gt) / 1024 if gt else None,
        "min_MemFree_MiB": min(r["MemFree"] for r in gt) / 1024 if gt else None,
        "min_SwapFree_MiB": min(r["SwapFree"] for r in gt) / 1024 if gt else None,
        "max_AnonPages_MiB": max(r["AnonPages"] for r in gt) / 1024 if gt else None,
        "max_psi_some_avg10": max(r.get("psi_some_avg10", 0) for r in gt) if gt else None,
        "max_psi_full_avg10": max(r.get("psi_full_avg10", 0) for r in gt) if gt else None,
        "pgmajfault_total": gt[-1]["pgmajfault"] - gt[0]["pgmajfault"] if gt else None,
        "oom_kills_kernel_log": [(t, m) for t, m in kmsg if "Killed process" in m], "events": events, "scrape": {}}
# scrape health from victoria-metrics export
for iv in ("5s", "15s"):
    p = f"{T}/export-{scen}-{iv}.jsonl"
    if not os.path.exists(p): continue
    up = dur = None; node_ts = []
    for l in open(p):
        j = json.loads(l); n = j["metric"]["__name__"]
        if n == "up": up = list(zip([t / 1000 for t in j["timestamps"]], j["values"]))
        if n == "scrape_duration_seconds": dur = list(zip([t / 1000 for t in j["timestamps"]], j["values"]))
        if n == "node_memory_MemAvailable_bytes": node_ts = [t / 1000 for t, v in zip(j["timestamps"], j["values"]) if v == v and v is not None]
    if not up: continue
    up.sort(); 
    up = [(t, v) for t, v in up if t0 + 1 <= t <= hev.get("power_off", 1e20)]
    first_ok = next((t for t, v in up if v == 1), None)
    fails = [(t, v) for t, v in up if first_ok and t > first_ok and v == 0]
    # failure runs
    runs = []; cur = None
    for t, v in up:
        if first_ok is None or t <= first_ok: continue
        if v == 0: cur = cur or [t, t]; cur[1] = t
        elif cur: runs.append(cur); cur = None
    if cur: runs.append(cur + ["until power-off"])
    interval = 5 if iv == "5s" else 15
    node_ts = sorted(node_ts); data_gaps = [(a, b - a) for a, b in zip(node_ts, node_ts[1:]) if b - a > 1.5 * interval]
    durs = [v for t, v in (dur or []) if (first_ok or 1e20) <= t <= hev.get("power_off", 1e20)]
    summ["scrape"][iv] = {"samples": len(up), "ok": sum(1 for t, v in up if v == 1), "failed": len(fails),
        "first_failure": fails[0][0] if fails else None, "last_success": max((t for t, v in up if v == 1), default=None),
        "failure_runs": [[r[0], r[1], round(r[1] - r[0] + interval), *(r[2:])] for r in runs],
        "max_scrape_duration_s": max(durs) if durs else None,
        "p50_scrape_duration_s": sorted(durs)[len(durs) // 2] if durs else None,
        "memavailable_sample_gaps_gt_1.5x": [(a, round(g, 1)) for a, g in data_gaps]}
json.dump(summ, open(f"{T}/summary.json", "w"), indent=1)
# auto notes
L = [f"# {scen}: auto-extracted timeline (host UTC clock; 'T+' = seconds since VM power-on)\n"]
rel = lambda t: f"T+{t - t0:.0f}s ({iso(t)}Z)" if t else "never"
L.append(f"- VM power-on: {rel(t0)}")
L.append(f"- workload start: {rel(ws)}")
L.append(f"- first swap use (GT SwapFree<SwapTotal): {rel(first_swap)}")
L.append(f"- first OOM kill (GT vmstat oom_kill>0): {rel(oom_gt)}")
for t, m in summ["oom_kills_kernel_log"]: L.append(f"  - kernel: {rel(t)} {m}")
for iv, s in summ["scrape"].items():
    L.append(f"- scrapes @{iv}: {s['ok']} ok / {s['failed']} failed after first success; first failure {rel(s['first_failure'])}; last success {rel(s['last_success'])}; max scrape_duration {s['max_scrape_duration_s']}s, median {s['p50_scrape_duration_s']}s")
    for r in s["failure_runs"]: L.append(f"  - up==0 run: {rel(r[0])} .. {rel(r[1])} (~{r[2]}s){' ' + r[3] if len(r) > 3 else ''}")
    for a, g in s["memavailable_sample_gaps_gt_1.5x"]: L.append(f"  - MemAvailable series gap: after {rel(a)}: {g}s without a sample")
L.append(f"- ground-truth monitor: {len(gt)} lines, last {rel(last_gt)}, longest silence {summ['gt_longest_silence_s']}s at {rel(summ['gt_longest_silence_at'])}")
L.append(f"- power-off: {rel(hev.get('power_off'))}; final probe: {hev.get('final_probe_text')}")
L.append(f"- min MemAvailable {summ['min_MemAvailable_MiB']:.0f} MiB, min MemFree {summ['min_MemFree_MiB']:.0f} MiB, min SwapFree {summ['min_SwapFree_MiB']:.1f} MiB, max AnonPages {summ['max_AnonPages_MiB']:.0f} MiB, max PSI some avg10 {summ['max_psi_some_avg10']}, full avg10 {summ['max_psi_full_avg10']}, pgmajfault delta {summ['pgmajfault_total']}")
L.append("\n## guest scenario events (host timestamps)")
for t, e in events: L.append(f"- {rel(t)}: {e}")
open(f"{T}/notes-auto.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
