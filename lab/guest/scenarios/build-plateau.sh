#!/bin/sh
# 'build-plateau' (memcanary copy, new): a heavy build that climbs and plateaus. N compiler-like workers
# started STAGGER s apart, each growing linearly to its share of LEVEL % of MemTotal over RAMP s, then
# holding there (70 % of the heap hot, all reading the shared 16 MiB "compiler text" mapping).
# Knobs: lab.LEVEL (default 60), lab.N (8), lab.RAMP (120), lab.STAGGER (8).
. /etc/scenarios/common.sh
N=${N:-8}; LEVEL=${LEVEL:-60}; RAMP=${RAMP:-120}; STAGGER=${STAGGER:-8}
TOTAL=$((MT * LEVEL / 100)); PER=$((TOTAL / N))
ev "baseline MT=${MT}MiB ST=${ST}MiB N=$N per_worker=${PER}MiB total=${TOTAL}MiB (LEVEL=$LEVEL%) ramp=${RAMP}s"
sleep 60
ev "workload_start"
i=0
while [ $i -lt $N ]; do
  /usr/bin/hog 4 $PER $RAMP -1 70 /opt/cc1text 16 &
  ev "worker $i started pid=$!"
  i=$((i+1)); sleep $STAGGER
done
ev "all_workers_started"
wait
