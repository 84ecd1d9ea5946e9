#!/usr/bin/env bash
# Print the path of a working python interpreter of the given version (e.g. 3.12), or exit 1.
#
# pyenv shims are on PATH for every installed version, but a shim for a version that is not
# active fails when run ("pyenv: python3.12: command not found"), so each candidate is run.
# Candidates, in order: `pyenv which pythonX.Y`, pythonX.Y on PATH, $(pyenv root)/versions/X.Y*,
# /root/.pyenv/versions/X.Y*, /usr/bin/pythonX.Y, /usr/local/bin/pythonX.Y.
set -uo pipefail

version=${1:?usage: $0 X.Y}
exe=python$version

candidates=()
if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv which "$exe" 2>/dev/null || true)")
    root=$(pyenv root 2>/dev/null || true)
    [[ -n $root ]] && candidates+=("$root"/versions/"$version"*/bin/"$exe")
fi
candidates+=("$(command -v "$exe" 2>/dev/null || true)")
candidates+=(/root/.pyenv/versions/"$version"*/bin/"$exe" /usr/bin/"$exe" /usr/local/bin/"$exe")

for candidate in "${candidates[@]}"; do
    [[ -n $candidate && -x $candidate ]] || continue
    if "$candidate" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$version' else 1)" >/dev/null 2>&1; then
        echo "$candidate"
        exit 0
    fi
done
exit 1
