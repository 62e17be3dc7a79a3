#!/bin/sh
# 'jvm-heap' (memcanary copy, new): a JVM-like heap that grows to its cap (-Xmx) over GROW_S s and stays
# there (60 % of it re-touched all the time, like a collector walking it), beside a small sidecar.
# Knobs: lab.CAP (% of MemTotal, default 65), lab.GROW_S (90).
. /etc/scenarios/common.sh
CAP=${CAP:-65}; GROW_S=${GROW_S:-90}; HEAP=$((MT * CAP / 100)); SC=$((MT * 5 / 100))
ev "baseline MT=${MT}MiB ST=${ST}MiB heap_cap=${HEAP}MiB (CAP=$CAP%) grow=${GROW_S}s sidecar=${SC}MiB"
sleep 60
ev "workload_start"
/usr/bin/hog 4 $SC 10 -1 50 & ev "sidecar pid=$!"
/usr/bin/hog 16 $HEAP $GROW_S -1 60 & ev "jvm pid=$!"
wait
