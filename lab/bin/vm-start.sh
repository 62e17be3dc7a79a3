#!/bin/bash
# start victoria-metrics on 127.0.0.1:18428 with a throw-away storage dir under $LAB/state
set -e
# memcanary copy: default work dir as build-guest.sh
LAB=${LAB:-/var/tmp/memcanary-lab-agent}; SRC=$(cd "$(dirname "$0")/.." && pwd); [ -d "$LAB/bin" ] || { mkdir -p "$LAB" && cp -r "$SRC/bin" "$SRC/guest" "$SRC/src" "$LAB/"; }
S=$LAB/state; mkdir -p $S
if [ -f $S/vm.pid ] && kill -0 $(cat $S/vm.pid) 2>/dev/null; then echo "victoria-metrics already running pid=$(cat $S/vm.pid)"; exit 0; fi
$LAB/bin/scrape-config.sh > $S/scrape.yml
nohup /usr/bin/victoria-metrics -httpListenAddr=127.0.0.1:18428 -storageDataPath=$S/vmdata \
  -retentionPeriod=100y -promscrape.config=$S/scrape.yml -loggerLevel=WARN > $S/vm.log 2>&1 &
echo $! > $S/vm.pid; sleep 2; curl -s 127.0.0.1:18428/health; echo " victoria-metrics pid=$(cat $S/vm.pid)"
