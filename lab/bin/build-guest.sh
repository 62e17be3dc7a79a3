#!/bin/bash
# Rebuild the guest: kernel (Debian linux-image), initramfs (busybox + virtio/ext4 modules),
# read-only ext4 root image with busybox, node_exporter (+libc), hog, gtmon, scenarios, data files.
set -euo pipefail
# memcanary copy: MEMCANARY_BIN (if set, the lean memcanary-agent binary) is installed as /usr/bin/memcanary-agent with
# guest/memcanary.toml, and guest/init-root.sh starts it beside node_exporter.
LAB=${LAB:-/var/tmp/memcanary-lab-agent}; SRC=$(cd "$(dirname "$0")/.." && pwd); mkdir -p "$LAB" && cp -r "$SRC/bin" "$SRC/guest" "$SRC/src" "$LAB/"; cd "$LAB"
KVER=${KVER:-6.1.0-56-amd64}
mkdir -p pkgs build out
cd pkgs
[ -f linux-image-${KVER}_*.deb ] 2>/dev/null || apt-get download linux-image-$KVER
ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static
cd $LAB
rm -rf kernel build/bbx && mkdir -p kernel build/bbx
dpkg -x pkgs/linux-image-${KVER}_*.deb kernel/
dpkg -x pkgs/busybox-static_*.deb build/bbx/
depmod -b kernel $KVER
cp kernel/boot/vmlinuz-$KVER out/vmlinuz
# --- guest binaries
gcc -O2 -static -o build/hog src/hog.c
gcc -O2 -static -o build/gtmon src/gtmon.c
# --- initramfs
IR=build/initramfs; rm -rf $IR; mkdir -p $IR/bin $IR/lib/modules
cp build/bbx/bin/busybox $IR/bin/busybox
cp guest/init-initramfs.sh $IR/init; chmod +x $IR/init
: > $IR/modules.order
for m in virtio_pci virtio_blk virtio_net crc32c_generic ext4; do
  modprobe -d kernel -S $KVER --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!s[$0]++' | while read -r p; do b=$(basename $p); cp $p $IR/lib/modules/$b; echo $b >> $IR/modules.order; done
(cd $IR && find . | cpio -o -H newc --quiet | gzip -1) > out/initramfs.cpio.gz
# --- root filesystem (mounted read-only by the guest, so every boot starts identical)
R=build/rootfs; rm -rf $R; mkdir -p $R/{bin,sbin,usr/bin,etc/scenarios,proc,sys,dev,tmp,run,opt,data,lib/x86_64-linux-gnu,lib64}
cp build/bbx/bin/busybox $R/bin/busybox
for a in $(build/bbx/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox $R/bin/$a; done
cp guest/init-root.sh $R/sbin/init; chmod +x $R/sbin/init
cp /usr/bin/prometheus-node-exporter $R/usr/bin/node_exporter
cp -L /lib/x86_64-linux-gnu/libc.so.6 $R/lib/x86_64-linux-gnu/; cp -L /lib64/ld-linux-x86-64.so.2 $R/lib64/
cp build/hog build/gtmon $R/usr/bin/
if [ -n "${MEMCANARY_BIN:-}" ]; then
  cp "$MEMCANARY_BIN" $R/usr/bin/memcanary-agent
  # every shared library the binary links (libgcc_s, libm, ...), as ldd lists them
  for lib in $(ldd "$MEMCANARY_BIN" | awk '$3 ~ /^\// {print $3}'); do
    cp -L "$lib" $R/lib/x86_64-linux-gnu/
  done
  cp guest/memcanary.toml $R/etc/memcanary.toml
fi
cp guest/scenarios/*.sh $R/etc/scenarios/; chmod +x $R/etc/scenarios/*.sh
# file-backed working set (stands in for compiler text/headers) and cache-heavy data (900 MiB > guest RAM)
head -c 16M /dev/urandom > $R/opt/cc1text
for i in 1 2 3; do head -c 300M /dev/urandom > $R/data/f$i; done
rm -f out/rootfs.img
mkfs.ext4 -q -F -L labroot -d $R out/rootfs.img 1200M
rm -rf $R/data   # keep build dir small
ls -la out/
