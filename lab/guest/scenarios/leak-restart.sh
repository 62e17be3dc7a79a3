#!/bin/sh
# 'leak-restart' (memcanary copy, new): a steady service plus a leaking one that its supervisor kills
# and restarts whenever the host's used memory (MemTotal - MemAvailable) reaches PEAK %, again and again.
# The leaker grows at MemTotal/LEAK_S MiB/s; 95 % of its pages are never touched again (cold).
# Knobs: lab.PEAK (default 90), lab.LEAK_S (150), lab.SERVICE_PCT (20), lab.RESTART_S (5).
. /etc/scenarios/common.sh
PEAK=${PEAK:-90}; LEAK_S=${LEAK_S:-150}; SV=$((MT * ${SERVICE_PCT:-20} / 100))
ev "baseline MT=${MT}MiB ST=${ST}MiB service=${SV}MiB leak_rate=${MT}MiB/${LEAK_S}s restart_at=${PEAK}% used"
sleep 60
ev "workload_start"
/usr/bin/hog 4 $SV 20 -1 80 & ev "service pid=$!"
sleep 20
n=0
while true; do
  n=$((n+1))
  /usr/bin/hog 4 $MT $LEAK_S -1 5 & L=$!
  ev "leaker start #$n pid=$L"
  while kill -0 $L 2>/dev/null; do
    AV=$(sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo)
    U=$(( (MT_KB - AV) * 100 / MT_KB ))
    if [ $U -ge $PEAK ]; then kill -9 $L; ev "supervisor killed leaker #$n at ${U}% used"; break; fi
    sleep 1
  done
  wait $L 2>/dev/null
  sleep ${RESTART_S:-5}
done
