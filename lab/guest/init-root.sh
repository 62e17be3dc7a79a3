#!/bin/sh
# PID 1 on the ext4 root (read-only). Starts ground-truth monitor, node_exporter, and the scenario.
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts; mount -t tmpfs -o size=8m tmp /tmp; mount -t tmpfs -o size=4m run /run
SCEN=$(sed -n 's/.*scenario=\([a-z-]*\).*/\1/p' /proc/cmdline)
echo "LAB boot scenario=$SCEN uptime=$(cut -d' ' -f1 /proc/uptime) epoch=$(date +%s)"
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
swapon /dev/vdb && echo "LAB swapon ok: $(cat /proc/swaps | tail -1)"
# kernel defaults are kept (overcommit_memory=0, swappiness=60, MGLRU off as in Debian 6.1 default)
echo "LAB sysctl overcommit=$(cat /proc/sys/vm/overcommit_memory) swappiness=$(cat /proc/sys/vm/swappiness) min_free_kbytes=$(cat /proc/sys/vm/min_free_kbytes) lru_gen=$(cat /sys/kernel/mm/lru_gen/enabled 2>/dev/null)"
/usr/bin/gtmon > /dev/ttyS0 2>&1 &
if [ -x /usr/bin/memcanary-agent ]; then
  mkdir -p /run/memcanary
  MALLOC_ARENA_MAX=1 MEMCANARY_LOG=info NO_COLOR=1 /usr/bin/memcanary-agent --config /etc/memcanary.toml > /dev/ttyS0 2>&1 &
  echo "LAB memcanary pid=$!"
fi
/usr/bin/node_exporter --web.listen-address=:9100 --log.level=warn --collector.textfile.directory=/run --no-collector.systemd > /dev/ttyS0 2>&1 &
echo "LAB node_exporter pid=$!"
if [ -x /etc/scenarios/$SCEN.sh ]; then /etc/scenarios/$SCEN.sh > /dev/ttyS0 2>&1 & fi
while true; do sleep 3600; done
