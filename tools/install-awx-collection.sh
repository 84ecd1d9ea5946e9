#!/usr/bin/env bash
# Install the awx.awx collection without Galaxy (unreachable here): take it out of the `ansible`
# bundle on PyPI, which carries it, as tools/install-ansible-windows.sh does for ansible.windows.
# tests/unit/test_awx.py reads the argument specs of its modules to check playbooks/awx_setup.yml
# offline, and ansible-lint resolves the playbook's modules with it.
#
# Usage: tools/install-awx-collection.sh COLLECTIONS_ROOT
#   Result: COLLECTIONS_ROOT/ansible_collections/awx/awx
#   PYTHON     interpreter that runs pip (default: .venv/bin/python)
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

# One pinned bundle whatever the controller: awx.awx only configures AWX over its API, its argument
# specs do not depend on ansible-core, and every leg then checks against the same modules. awx.awx
# 24.6.1 is the last release of the collection (AWX 24.6.1); ansible 12.3.0 carries it.
bundle=12.3.0
awx=24.6.1

target=$dest/ansible_collections/awx/awx
manifest_version() {
    "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' "$1"
}
if [[ -f $target/MANIFEST.json ]] && [[ $(manifest_version "$target/MANIFEST.json") == "$awx" ]]; then
    echo "awx.awx $awx already in $dest"
    exit 0
fi

wheel=$cache/ansible-$bundle-py3-none-any.whl
if [[ ! -f $wheel ]]; then
    # --python-version: the bundle's own Python floor, so that any controller's pip can fetch it.
    "$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
        --dest "$cache" "ansible==$bundle"
fi

rm -rf "$target"
"$python" - "$wheel" "$dest" "$awx" <<'PYEOF'
import json
import sys
import zipfile

wheel, dest, want = sys.argv[1:]
prefix = "ansible_collections/awx/awx/"
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not members:
        sys.exit(f"error: {wheel} holds no {prefix}")
    found = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
    if found != want:
        sys.exit(f"error: {wheel} carries awx.awx {found}, this script expects {want}")
    archive.extractall(dest, members)
PYEOF
echo "awx.awx $(manifest_version "$target/MANIFEST.json") installed in $dest (from ansible $bundle)"
