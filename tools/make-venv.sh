#!/usr/bin/env bash
# Create (if needed) a virtual environment and install a pinned requirements file into it.
#
# Usage: tools/make-venv.sh PYTHON VENV_DIR REQUIREMENTS_FILE
#
# Idempotent: the sha256 of the requirements file is kept in VENV_DIR/.requirements.sha256;
# when it matches, nothing is done. A venv whose python no longer runs (e.g. the interpreter
# it was made from is gone) is recreated.
set -euo pipefail

python=${1:?usage: $0 PYTHON VENV_DIR REQUIREMENTS_FILE}
venv=${2:?usage: $0 PYTHON VENV_DIR REQUIREMENTS_FILE}
requirements=${3:?usage: $0 PYTHON VENV_DIR REQUIREMENTS_FILE}
stamp=$venv/.requirements.sha256

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]] && "$venv/bin/python" -c '' >/dev/null 2>&1; then
    exit 0
fi

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    echo "make-venv: creating $venv with $python ($("$python" --version 2>&1))"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

echo "make-venv: installing $requirements into $venv"
start=$SECONDS
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --requirement "$requirements"
echo "$want" > "$stamp"
echo "make-venv: $venv ready in $((SECONDS - start)) s"
