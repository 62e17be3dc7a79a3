#!/bin/bash
# usage: run-scenario.sh SCENARIO DURATION_S   -- fresh VM boot, run for DURATION_S, then hard power-off
set -u
LAB=${LAB:-/var/tmp/memcanary-lab-agent}; SRC=$(cd "$(dirname "$0")/.." && pwd); [ -d "$LAB/bin" ] || { mkdir -p "$LAB" && cp -r "$SRC/bin" "$SRC/guest" "$SRC/src" "$LAB/"; }
# memcanary copy: GUESTFWD (e.g. tcp:10.0.2.100:19190-cmd:socat STDIO TCP:127.0.0.1:19190) adds a
# qemu guestfwd rule so the guest's agent can reach a receiver on host loopback.
SCEN=$1; DUR=$2
. $LAB/bin/ports.sh   # memcanary copy: the slots are defined once, in ports.sh (the original had them inline)
# JOB: scrape slot (port + victoria-metrics job name), default = scenario; use JOB=incident2 to run a 2nd incident VM concurrently
JOB=${JOB:-$SCEN}; P=${PORT[$JOB]}; T=$LAB/traces/${TDIR:-$SCEN}; mkdir -p $T; W=$LAB/state/$JOB; mkdir -p $W
MEM=${MEM:-1024}; SWAP_MIB=${SWAP_MIB:-64}; ACCEL=${ACCEL:-tcg}   # nested KVM hangs on this host (see README); TCG is the default
rm -f $W/swap.img; truncate -s ${SWAP_MIB}M $W/swap.img; mkswap -q $W/swap.img
ev() { echo "$(date +%s.%3N) $*" | tee -a $T/host-events.log; }
: > $T/host-events.log
ev "host_start scenario=$SCEN job=$JOB duration=${DUR}s mem=${MEM}MiB swap=${SWAP_MIB}MiB accel=$ACCEL port=$P"
if [ "$ACCEL" = kvm ]; then A="-enable-kvm -cpu host"; else A="-accel tcg,thread=multi"; fi
( qemu-system-x86_64 $A -m $MEM -smp 2 -name lab-$JOB \
   -kernel $LAB/out/vmlinuz -initrd $LAB/out/initramfs.cpio.gz \
   -append "console=ttyS0 loglevel=4 panic=0 scenario=$SCEN ${KAPPEND:-}" \
   -drive file=$LAB/out/rootfs.img,if=virtio,format=raw,readonly=on,cache=none,aio=threads \
   -drive file=$W/swap.img,if=virtio,format=raw,cache=none,aio=threads \
   -netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$P-:9100${GUESTFWD:+,guestfwd=$GUESTFWD} -device virtio-net-pci,netdev=n0 \
   -rtc base=utc -display none -monitor none -serial stdio -no-reboot </dev/null 2>$T/qemu.stderr \
   & echo $! > $W/qemu.pid; wait ) | $LAB/bin/ts.py > $T/serial.log &
sleep 1; QPID=$(cat $W/qemu.pid); ev "qemu pid=$QPID"
end=$(( $(date +%s) + DUR ))
while [ $(date +%s) -lt $end ] && kill -0 $QPID 2>/dev/null; do sleep 5; done
# liveness probe just before the power cycle
if curl -s -m 10 -o /dev/null -w '%{http_code}' 127.0.0.1:$P/metrics | grep -q 200; then ev "final_probe node_exporter responded"; else ev "final_probe node_exporter NOT responding (10s timeout)"; fi
ev "power_off (kill qemu pid=$QPID)"; kill $QPID 2>/dev/null; sleep 2; kill -9 $QPID 2>/dev/null
ev "host_end"
