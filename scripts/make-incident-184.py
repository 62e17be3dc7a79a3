#!/usr/bin/env python3
"""Writes tests/fixtures/incident-184/export-kai-server-15s.jsonl: a reconstruction
of the user's incident (infrastructure#184, night of 2026-05-30) from the figures
in its report, as VictoriaMetrics /api/v1/export JSON lines at a 15 s scrape.

Figures taken from the report: 31 GiB usable RAM, 2 GiB swap, a 3 am build that
spawned ~16 cc1plus of ~1 GiB each (anon ~30.7 GiB at the peak), SwapFree
0.72 -> 0.23 GiB over 03:00-03:15 PDT, node_exporter data stopping at 03:15 and
resuming after the power cycle at ~07:10 PDT. Everything else (the exact ramp
shape, noise, PSI and fault rates, the reboot resetting counters) is modelled,
deterministically (fixed-seed LCG), so the file is reproducible byte for byte:

    python3 scripts/make-incident-184.py > tests/fixtures/incident-184/export-kai-server-15s.jsonl
"""
import json
import sys

GIB = 1 << 30
MIB = 1 << 20
PDT = -7 * 3600
# 2026-05-30 00:00:00 UTC as unix seconds.
DAY = 1780099200


def t(h, m, s=0):
    """Unix seconds of h:m:s PDT on 2026-05-30."""
    return DAY + h * 3600 + m * 60 + s - PDT


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def uniform(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.x >> 11) / float(1 << 53)


MEM_TOTAL = 31 * GIB
SWAP_TOTAL = 2 * GIB
BASE_ANON = 14.6 * GIB           # the host's steady load before the build
START = t(3, 0)                  # coily-update.service's build starts
N_CC = 16
CC_GAP = 20                      # a new compiler every 20 s
CC_RAMP = 180                    # each grows to its peak in ~3 min
CC_PEAK = 1.0 * GIB
LAST = t(3, 15)                  # last good scrape
BACK = t(7, 10)                  # first scrape after the power cycle
END = t(7, 30)


def compilers(ts):
    total = 0.0
    for i in range(N_CC):
        age = ts - (START + i * CC_GAP)
        if age > 0:
            total += CC_PEAK * min(1.0, 0.05 + 0.95 * age / CC_RAMP)
    return total


def swap_free(ts):
    """0.72 GiB at 03:00, 0.23 GiB at 03:15, draining faster as pressure builds."""
    if ts <= START:
        return 0.72 * GIB
    x = min(1.0, (ts - START) / (LAST - START))
    return (0.72 - 0.49 * x ** 1.6) * GIB


def pressure(ts):
    """0 before the compilers fill RAM, then rising towards the cliff."""
    x = (ts - t(3, 7)) / (LAST - t(3, 7))
    return max(0.0, min(1.0, x)) ** 1.5


def main():
    rnd = Lcg(184)
    series = {k: ([], []) for k in [
        "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes", "node_memory_SwapTotal_bytes",
        "node_memory_SwapFree_bytes", "node_pressure_memory_waiting_seconds_total",
        "node_pressure_memory_stalled_seconds_total", "node_vmstat_pgmajfault", "node_vmstat_pswpin",
        "node_vmstat_pswpout", "node_vmstat_oom_kill", "up"]}
    psi_some = 81234.5
    psi_full = 20123.25
    majflt, pswpin, pswpout = 9_812_345, 1_234_567, 2_345_678

    def put(name, ts, v):
        series[name][0].append(ts * 1000)
        series[name][1].append(v)

    ts = t(2, 30)
    while ts <= END:
        if LAST < ts < BACK:
            # Scrapes time out: VictoriaMetrics writes up=0 and staleness markers.
            put("up", ts, 0)
            if ts == LAST + 15:
                for k in series:
                    if k != "up":
                        put(k, ts, None)
            ts += 15
            continue
        if ts == BACK:
            # Power cycle: counters restart from zero.
            psi_some = psi_full = 0.0
            majflt = pswpin = pswpout = 0
        rebooted = ts >= BACK
        noise = (rnd.uniform() - 0.5) * 120 * MIB
        if rebooted:
            avail = 26.5 * GIB + noise
            sfree = SWAP_TOTAL
            p = 0.0
        else:
            anon = BASE_ANON + compilers(ts)
            sfree = swap_free(ts)
            swapped = 0.72 * GIB - sfree
            # The kernel keeps ~250 MiB of cache it cannot drop plus what swap relieved.
            avail = max(0.25 * GIB + 0.2 * swapped, MEM_TOTAL - anon - 0.7 * GIB + swapped) + noise
            p = pressure(ts)
        some = min(0.95, 0.02 * rnd.uniform() * p + 0.40 * p)
        full = some * 0.55
        psi_some += some * 15
        psi_full += full * 15
        majflt += int(15 * (4 + 900 * p))
        pswpin += int(15 * 280 * p)
        prev_used = getattr(main, "used", 0)
        used = SWAP_TOTAL - sfree
        pswpout += int(max(0, used - prev_used) / 4096) + int(15 * 280 * p)
        main.used = used
        put("node_memory_MemTotal_bytes", ts, MEM_TOTAL)
        put("node_memory_MemAvailable_bytes", ts, int(avail) // 4096 * 4096)
        put("node_memory_SwapTotal_bytes", ts, SWAP_TOTAL)
        put("node_memory_SwapFree_bytes", ts, int(sfree) // 4096 * 4096)
        put("node_pressure_memory_waiting_seconds_total", ts, round(psi_some, 6))
        put("node_pressure_memory_stalled_seconds_total", ts, round(psi_full, 6))
        put("node_vmstat_pgmajfault", ts, majflt)
        put("node_vmstat_pswpin", ts, pswpin)
        put("node_vmstat_pswpout", ts, pswpout)
        put("node_vmstat_oom_kill", ts, 0)
        put("up", ts, 1)
        ts += 15
    out = sys.stdout
    for name, (tss, vals) in series.items():
        metric = {"__name__": name, "instance": "kai-server", "job": "node"}
        out.write(json.dumps({"metric": metric, "values": vals, "timestamps": tss}, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
