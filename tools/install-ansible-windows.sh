#!/usr/bin/env bash
# Install the ansible.windows collection without Galaxy (unreachable here): take it out of
# the `ansible` bundle on PyPI, which carries it.
#
# Usage: tools/install-ansible-windows.sh COLLECTIONS_ROOT
#   Result: COLLECTIONS_ROOT/ansible_collections/ansible/windows
#   PYTHON     interpreter whose ansible-core decides the bundle (default: .venv/bin/python)
#   PIP_CACHE  where the downloaded wheel is kept (default: build/cache/ansible-bundle)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
cache=${PIP_CACHE:-$root/build/cache/ansible-bundle}

if [[ $# -ne 1 ]]; then
    echo "usage: $0 COLLECTIONS_ROOT" >&2
    exit 2
fi
dest=$1

core=$("$python" -c 'import ansible.release as r; print(r.__version__)') || {
    echo "error: ansible-core is not importable with $python (set PYTHON)" >&2
    exit 1
}

# The bundle must match the controller: each `ansible` major release pairs with one ansible-core
# minor (its Requires-Dist: ansible-core~=2.X.Y). Each row: bundle version, ansible.windows version.
# Except 2.15: its bundle (ansible 8) carries ansible.windows 1.14.0, older than galaxy.yml's
# ansible.windows >=2.0.0, so it gets ansible 9's 2.5.0, whose requires_ansible is >=2.15.
case $core in
    2.15.*) bundle=9.13.0 windows=2.5.0 ;;
    2.16.*) bundle=9.13.0 windows=2.5.0 ;;
    2.17.*) bundle=10.7.0 windows=2.5.0 ;;
    2.18.*) bundle=11.13.0 windows=2.8.0 ;;
    2.19.*) bundle=12.3.0 windows=3.3.0 ;;
    2.20.*) bundle=13.8.0 windows=3.6.1 ;;
    2.2[1-9].*) bundle=14.5.0 windows=3.8.0 ;;
    *)
        echo "error: no ansible bundle chosen for ansible-core $core" >&2
        exit 1
        ;;
esac

exec "$root/tools/collection-from-bundle.sh" "$python" "$cache" "$bundle" ansible.windows "$windows" "$dest"
