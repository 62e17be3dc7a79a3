# Real-kernel agent test (tests/it/agent_kernel.rs) and unit validation:
# mkswap/swapon (util-linux, mount), stress-ng, systemd-analyze to verify
# the unit file, and procps for the /bin/kill its ExecReload names
# (systemd-analyze verify checks that the command exists).
if [ "$(id -u)" = 0 ]; then
  apt_need util-linux mount stress-ng systemd procps
else
  echo "30-kernel: not root: the real-kernel agent test will print SKIP" >&2
fi
# Builds the hog example the kernel test starts inside its cgroup.
step "cargo build --example hog"
cargo build --quiet --example hog
