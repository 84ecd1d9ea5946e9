#!/usr/bin/env bash
# Take one collection out of the `ansible` bundle wheel on PyPI (Galaxy is unreachable here), for
# tools/install-ansible-windows.sh and tools/install-awx-collection.sh, which choose what to take.
#
# Usage: tools/collection-from-bundle.sh PYTHON CACHE BUNDLE NAMESPACE.NAME VERSION COLLECTIONS_ROOT [PYVER]
#   Result: COLLECTIONS_ROOT/ansible_collections/NAMESPACE/NAME at VERSION, from ansible==BUNDLE;
#   nothing is done when that version is there already. PYVER: download the bundle for that Python
#   (its own floor) instead of PYTHON's, when the bundle need not match the controller.
set -euo pipefail

python=$1 cache=$2 bundle=$3 collection=$4 version=$5 dest=$6 for_python=${7:-}
target=$dest/ansible_collections/${collection/.//}

manifest_version() {
    "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' "$1"
}
if [[ -f $target/MANIFEST.json ]] && [[ $(manifest_version "$target/MANIFEST.json") == "$version" ]]; then
    echo "$collection $version already in $dest"
    exit 0
fi

mkdir -p "$cache"
wheel=$cache/ansible-$bundle-py3-none-any.whl
if [[ ! -f $wheel ]]; then
    "$python" -m pip download --quiet --no-deps --only-binary=:all: ${for_python:+--python-version "$for_python"} \
        --dest "$cache" "ansible==$bundle"
fi

# A different version left over from another controller would mix files: start clean.
rm -rf "$target"
"$python" - "$wheel" "$dest" "$collection" "$version" <<'PYEOF'
import json
import sys
import zipfile

wheel, dest, collection, want = sys.argv[1:]
prefix = "ansible_collections/%s/" % collection.replace(".", "/")
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not members:
        sys.exit(f"error: {wheel} holds no {prefix}")
    found = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
    if found != want:
        sys.exit(f"error: {wheel} carries {collection} {found}, expected {want}")
    archive.extractall(dest, members)
PYEOF
echo "$collection $(manifest_version "$target/MANIFEST.json") installed in $dest (from ansible $bundle)"
