# The lean agent as deployed (`agent` profile: small, fat LTO), for
# tests/it/harden/memlock.rs, which runs it as nobody under the default
# `ulimit -l` (the debug build maps too much to lock anything). setpriv and
# prlimit come with util-linux.
if [ "$(id -u)" = 0 ]; then
  apt_need util-linux
fi
step "cargo build --profile agent -p memcanary-agent"
cargo build --quiet --profile agent -p memcanary-agent
export MEMCANARY_AGENT_PROFILE_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/agent/memcanary-agent"
