#!/usr/bin/env bash
# System packages the test suite uses (Debian's): g++ for the AtCoder judge, Chromium for the
# leaderboard's browser test, PostgreSQL for the leaderboard's second backend. Installed only when
# missing, and only when this runs as root with apt-get; otherwise the tests that need them skip.
set -euo pipefail
missing=()
command -v g++ >/dev/null || missing+=(g++)
command -v chromium >/dev/null || missing+=(chromium)
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: not installing ${missing[*]} (needs root and apt-get); the tests that need them will skip" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
