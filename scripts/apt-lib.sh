# apt_need, shared by scripts/test.sh and the benchmarks' scripts/bench-lib.sh
# (sourced, not run).

# apt_need PKG...: installs the Debian packages that are missing.
APT_UPDATED=
apt_need() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    return 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    printf '\n==> %s\n' "apt-get update" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  printf '\n==> %s\n' "apt-get install ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
