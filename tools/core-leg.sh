#!/usr/bin/env bash
# One leg of the ansible-core matrix (make test-cores): the end-to-end tests that drive what a user runs
# on a controller (CORE_LEG_TESTS: the site converge with check mode and the no-change run, the report,
# AWX's runner, unreachable hosts and bad input, licensing_info, the round trips) against the lab on one
# ansible-core, in its own venv and collections tree, and how long the leg took. The whole of tests/e2e
# runs on 2.19 and 2.21 (make e2e, make test-core221); CORE_LEG_TESTS=tests/e2e runs all of it here too.
#
# Usage: tools/core-leg.sh CORE PYTHON_VERSION     e.g. tools/core-leg.sh 2.16 3.11
#   venv        build/venv-coreXY from requirements-dev-coreXY.txt (tools/make-venv.sh)
#   collections build/collections-coreXY: this collection (symlink) + the ansible.windows of the
#               `ansible` bundle that pairs with that core (tools/install-ansible-windows.sh)
# Without Python PYTHON_VERSION the leg prints a SKIPPED line and succeeds: the line says so.
set -euo pipefail

core=${1:?usage: $0 CORE PYTHON_VERSION}
python_version=${2:?usage: $0 CORE PYTHON_VERSION}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tag=core${core/./}
requirements=requirements-dev-$tag.txt
venv=build/venv-$tag
collections=$root/build/collections-$tag
[[ -f $requirements ]] || { echo "core-leg: no $requirements for ansible-core $core" >&2; exit 2; }

if ! python=$(tools/find-python.sh "$python_version"); then
    echo "SKIPPED: no Python $python_version, the ansible-core $core leg (tests/e2e) did not run"
    exit 0
fi

start=$SECONDS
echo "core-leg: ansible-core $core with $python"
tools/make-venv.sh "$python" "$venv" "$requirements"
mkdir -p "$collections/ansible_collections/remote_desktop"
ln -sfn ../../../.. "$collections/ansible_collections/remote_desktop/licensing"
PYTHON="$venv/bin/python" tools/install-ansible-windows.sh "$collections"
tools/install-chromium.sh  # the report test renders the page; no-op when installed

tests=${CORE_LEG_TESTS:-tests/e2e/test_converge.py tests/e2e/test_report.py tests/e2e/test_awx_runner.py
    tests/e2e/test_paths.py tests/e2e/test_licensing_info.py tests/e2e/test_round_trips.py}
status=0
# shellcheck disable=SC2086  # the list of test files is split on purpose
PATH="$root/$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$collections" \
    tools/run-pytest.sh "e2e (core $core)" "$venv/bin/python" $tests -- \
    -o pythonpath="tests/lab $collections" -p no:cacheprovider || status=$?
elapsed=$((SECONDS - start))
echo "core-leg: ansible-core $core: $([[ $status -eq 0 ]] && echo passed || echo FAILED) in $((elapsed / 60)) min $((elapsed % 60)) s"
exit "$status"
