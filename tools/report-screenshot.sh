#!/usr/bin/env bash
# make report-screenshot: docs/images/report.png, the fleet report of the demo lab in headless Chromium.
#
# The lab is the demo's (tools/demo.sh: ls1 made a license server by playbooks/site.yml, sh1 on Windows
# Server 2022, sh2 on 2019) plus sh3, a Windows Server 2025 session host added to the farm, 23 days into
# the end of its grace period: its license server (2022) is older than it and holds no 2025 CALs, which
# the report finds by comparing the hosts. Clients never connect to the lab, so CAL usage is seeded: 18 of
# the 25 Per Device CALs issued, 31 of the 50 Per User CALs.
# The report itself stays in build/screenshot-report/. Needs /usr/bin/chromium (tools/install-chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
lab_dir=${RDLAB_DIR:-build/screenshot-lab}
report_dir=$PWD/build/screenshot-report
shot=${REPORT_SCREENSHOT:-docs/images/report.png}
chromium=${CHROMIUM:-/usr/bin/chromium}
export PYTHONPATH=tests/lab
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections"
export ANSIBLE_NOCOLOR=1
rdlab() { "$venv/bin/python" -m rdlab "$@" --dir "$lab_dir"; }
log=$(mktemp)
profile=$(mktemp -d)
quietly() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "report-screenshot: failed: $*" >&2; exit 1; }; }

if [ ! -x "$chromium" ]; then
  echo "report-screenshot: $chromium is missing; run tools/install-chromium.sh (make report-screenshot does)" >&2
  exit 1
fi

rdlab stop >/dev/null
rdlab start --reset \
  --host ls1:none:domain=corp.example.com:groups=license_servers \
  --host sh1:session_host:domain=corp.example.com \
  --host sh2:session_host:os=2019:domain=corp.example.com \
  --host sh3:session_host:os=2025:domain=corp.example.com
trap 'rdlab stop >/dev/null; rm -rf "$log" "$profile"' EXIT
inventory="$lab_dir/inventory/hosts.yml"

echo "== Converge the lab (playbooks/site.yml with the demo's variables)"
quietly "$venv/bin/ansible-playbook" -i "$inventory" playbooks/site.yml -e @tests/lab/demo/vars.yml

echo "== Seed CAL usage and sh3's clock"
# KeyPackId by ProductType (0 Per Device, 1 Per User) from the license server's state.
read -r per_device per_user < <(rdlab show ls1 | "$venv/bin/python" -c '
import json, sys
packs = {p["ProductType"]: p["KeyPackId"] for p in json.load(sys.stdin)["license_server"]["key_packs"]}
print(packs[0], packs[1])')
quietly rdlab issue ls1 --key-pack "$per_device" --count 18
rdlab show ls1 | "$venv/bin/python" -c '
import json, sys
packs = json.load(sys.stdin)["license_server"]["key_packs"]
for pack in packs:
    if pack["KeyPackId"] == int(sys.argv[1]):
        pack["IssuedLicenses"] = 31
print(json.dumps({"license_server": {"key_packs": packs}}))' "$per_user" | rdlab seed ls1 - >/dev/null
# The grace period starts at the first client connection (hh553157): one client, then 97 days later.
quietly rdlab connect sh3 --computer PC1 --user ada
echo '{"clock_offset_days": 97}' | rdlab seed sh3 - >/dev/null

echo "== Report (playbooks/report.yml)"
quietly "$venv/bin/ansible-playbook" -i "$inventory" playbooks/report.yml -e report_dir="$report_dir"
grep -A4 '"msg": \[' "$log" | sed -n '2,4p'

echo "== Screenshot"
mkdir -p "$(dirname "$shot")"
quietly "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
  --user-data-dir="$profile" --window-size=1280,1600 --screenshot="$PWD/$shot" "file://$report_dir/report.html"
echo "$shot ($(wc -c <"$shot") bytes) from $report_dir/report.html"
