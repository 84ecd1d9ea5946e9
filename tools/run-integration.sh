#!/usr/bin/env bash
# make integration: the ansible-test integration targets (tests/integration/targets) against a fresh
# simulated lab, through `ansible-test windows-integration --inventory`, exactly as they run against
# real hosts (docs/testing.md). The lab host is a domain member with RD Session Host installed.
#
# Usage: tools/run-integration.sh COLLECTION_DIR PYTHON_VERSION
set -euo pipefail

collection=${1:?usage: $0 COLLECTION_DIR PYTHON_VERSION}
python_version=${2:?usage: $0 COLLECTION_DIR PYTHON_VERSION}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lab=$root/build/integration-lab
rdlab() { PYTHONPATH="$root/tests/lab" python -m rdlab "$@" --dir "$lab"; }

rdlab start --reset --host ls1:session_host:domain=corp.example.com >/dev/null
trap 'rdlab stop >/dev/null 2>&1 || true' EXIT
# The lab may activate and install a Select pack (stand-in number and marker key): rds_test_* in the inventory.
python "$root/tools/integration-inventory.py" "$lab/inventory/hosts.yml" "$lab/inventory.winrm" \
    rds_test_activate=true rds_test_agreement_number=3141592 rds_test_marker_key=integration-lab-marker-key-0001
cd "$collection"
ANSIBLE_TEST_CONTENT_ROOT=$PWD python "$root/tools/ansible-test-offline.py" --collection "$collection" -- \
    windows-integration --inventory "$lab/inventory.winrm" --python "$python_version"
