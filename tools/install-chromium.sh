#!/usr/bin/env bash
# Install Debian's chromium for the end-to-end test that renders the fleet report (tests/e2e/test_report.py),
# and for tools/report-screenshot.sh. Idempotent: does nothing when /usr/bin/chromium exists.
# Runs as root (CI); otherwise through sudo when there is one. Fails loudly when it cannot install:
# the report test must not be skipped silently.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "install-chromium: $CHROMIUM is missing and this is not root (and there is no sudo):" \
    "install it with: apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: $CHROMIUM is missing and there is no apt-get: install Chromium by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() { "${sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-dejavu-core; }

echo "install-chromium: installing Debian's chromium (for the report's end-to-end test)"
# apt-get update only when the package lists do not know chromium yet, or the install fails on stale lists.
if ! apt-cache show chromium >/dev/null 2>&1 || ! apt_install; then
  "${sudo[@]}" apt-get update || { echo "install-chromium: apt-get update failed (no network?)" >&2; exit 1; }
  apt_install || { echo "install-chromium: apt-get install chromium failed" >&2; exit 1; }
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: apt-get succeeded but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
