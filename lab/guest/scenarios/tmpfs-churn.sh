#!/bin/sh
# 'tmpfs-churn' (memcanary copy, new): a build writing its objects to a tmpfs (FILL % of MemTotal,
# 16 MiB every 2 s), reading a 300 MiB file through the page cache, deleting the objects, again and again;
# beside a steady service. tmpfs pages are Shmem: not available, swap-backed.
# Knobs: lab.FILL (default 35), lab.SERVICE_PCT (20).
. /etc/scenarios/common.sh
FILL=${FILL:-35}; SV=$((MT * ${SERVICE_PCT:-20} / 100)); NF=$((MT * FILL / 100 / 16))
mkdir -p /run/build; mount -t tmpfs -o size=$((NF * 16 + 16))m build /run/build
ev "baseline MT=${MT}MiB ST=${ST}MiB service=${SV}MiB tmpfs_fill=$((NF * 16))MiB (FILL=$FILL%)"
sleep 60
ev "workload_start"
/usr/bin/hog 4 $SV 20 -1 80 & ev "service pid=$!"
n=0
while true; do
  n=$((n+1)); i=0
  while [ $i -lt $NF ]; do dd if=/dev/zero of=/run/build/o$i bs=1M count=16 2>/dev/null; i=$((i+1)); sleep 2; done
  ev "pass $n tmpfs filled $((NF * 16))MiB"
  cat /data/f$(( n % 3 + 1 )) > /dev/null; ev "pass $n read /data/f$(( n % 3 + 1 ))"
  rm -f /run/build/o*; ev "pass $n tmpfs cleaned"
  sleep 10
done
