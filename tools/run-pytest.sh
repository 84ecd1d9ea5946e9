#!/usr/bin/env bash
# Run pytest on the given test directories, skipping the ones that hold no test file yet.
#
# Usage: tools/run-pytest.sh LABEL PYTHON DIR|FILE... [-- PYTEST_ARGS...]
#
# pytest exits 5 when it collects no test. That is accepted only for a directory with no
# test_*.py / *_test.py file in it (it is skipped with a message); a directory that has test
# files but yields no test still fails. LABEL names the run in the output
# ("run-pytest: LABEL"), which .ci/run uses for its summary.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 LABEL PYTHON DIR... [-- PYTEST_ARGS...]" >&2
    exit 2
fi
label=$1
python=$2
shift 2

dirs=()
while [[ $# -gt 0 && $1 != -- ]]; do
    dirs+=("$1")
    shift
done
[[ $# -gt 0 ]] && shift  # drop --

run=()
for dir in "${dirs[@]}"; do
    if [[ -f $dir ]]; then
        run+=("$dir")  # a test file named on purpose
    elif [[ -d $dir ]] && find "$dir" -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit | grep -q .; then
        run+=("$dir")
    else
        echo "run-pytest: SKIPPED $dir: no test files (test_*.py, *_test.py) yet"
    fi
done

if [[ ${#run[@]} -eq 0 ]]; then
    echo "run-pytest: $label: nothing to run"
    exit 0
fi

echo "run-pytest: $label: pytest ${run[*]}"
exec "$python" -m pytest "${run[@]}" "$@"
