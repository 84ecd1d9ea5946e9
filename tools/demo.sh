#!/usr/bin/env bash
# make demo: start a fresh simulated lab (a bare server to become the license server, two session
# hosts), converge it with playbooks/site.yml and report it, through ansible's winrm connection;
# then stop the lab.
# DEMO_KEEP_LAB=1 leaves the lab running to explore; the script ends with the command that stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
lab_dir=${RDLAB_DIR:-build/demo-lab}
export PYTHONPATH=tests/lab
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections"
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
rdlab() { "$venv/bin/python" -m rdlab "$@" --dir "$lab_dir"; }

rdlab stop >/dev/null
rdlab start --reset \
  --host ls1:none:domain=corp.example.com:groups=license_servers \
  --host sh1:session_host:domain=corp.example.com \
  --host sh2:session_host:os=2019:domain=corp.example.com
if [ "${DEMO_KEEP_LAB:-0}" != 1 ]; then trap 'rdlab stop' EXIT; fi

inventory="$lab_dir/inventory/hosts.yml"
commands() { rdlab transcript | grep -c '"kind": "command"' || true; }

echo "== Converge the fresh lab (playbooks/site.yml)"
"$venv/bin/ansible-playbook" -i "$inventory" playbooks/site.yml -e @tests/lab/demo/vars.yml
before=$(commands)
echo "== Converge again: nothing changes, one WinRM command per host per module call"
"$venv/bin/ansible-playbook" -i "$inventory" playbooks/site.yml -e @tests/lab/demo/vars.yml
echo "WinRM commands for the second converge: $(( $(commands) - before )) (the floor is 5: ls1 runs license_server and cal_pack twice, sh1 and sh2 run session_host)"

echo "== Report (playbooks/report.yml)"
report_dir="$PWD/build/demo-report"
"$venv/bin/ansible-playbook" -i "$inventory" playbooks/report.yml -e "report_dir=$report_dir"
echo "Report files: $report_dir/report.html (open it in a browser), report.json, report.csv"
if [ "${DEMO_KEEP_LAB:-0}" = 1 ]; then
  echo "The lab keeps running: inventory $inventory; stop it with: PYTHONPATH=tests/lab $venv/bin/python -m rdlab stop --dir $lab_dir"
fi
