#!/usr/bin/env bash
# make ee-check: check what an execution environment (AWX, ansible-navigator) gets from this
# collection, without building an image (no container engine here).
#
#   1. Both definitions (docs/awx/execution-environment.yml, with the collection from Galaxy, and
#      docs/awx/execution-environment-local.yml, from the tarball of `make build`) install
#      ansible-core$EE_ANSIBLE_CORE_RANGE, and that range admits every ansible-core the project tests
#      (the ansible-core pins of requirements-dev*.txt) and no minor release outside them.
#   2. ansible-builder introspect --sanitize COLLECTIONS: the Python and system requirements that
#      ansible-builder reads from the collection (meta/execution-environment.yml -> requirements.txt,
#      bindep.txt) must hold pywinrm and the Kerberos packages, for rpm and dpkg platforms.
#   3. ansible-builder create on each definition into CONTEXT and CONTEXT-local: the build context must
#      hold the Containerfile, pywinrm, the Kerberos packages and both collections; the local one the
#      tarball of this version (galaxy.yml), which its requirements install.
#
# Usage: tools/ee-check.sh COLLECTIONS_ROOT CONTEXT_DIR   (ansible-builder and python on PATH;
#        the local definition needs build/remote_desktop-licensing-VERSION.tar.gz: `make build`)
set -euo pipefail

# The ansible-core range of the execution environments: the one place to change when the tested
# matrix changes (both definitions must carry the same; step 1 says when they do not).
EE_ANSIBLE_CORE_RANGE='>=2.15,<2.22'

collections=${1:?usage: $0 COLLECTIONS_ROOT CONTEXT_DIR}
context=${2:?usage: $0 COLLECTIONS_ROOT CONTEXT_DIR}
definitions=(docs/awx/execution-environment.yml docs/awx/execution-environment-local.yml)
status=0

fail() { echo "ee-check: FAIL: $*" >&2; status=1; }
# require LABEL FILE REGEX...: every extended regex must match a line of FILE
require() {
    local label=$1 file=$2
    shift 2
    for pattern in "$@"; do
        grep -Eq -- "$pattern" "$file" || fail "$label: nothing matches /$pattern/ in $file"
    done
}

echo "ee-check: ansible-core$EE_ANSIBLE_CORE_RANGE in ${definitions[*]}, against the tested cores"
python - "$EE_ANSIBLE_CORE_RANGE" "${definitions[@]}" <<'PYEOF' || status=1
import glob
import re
import sys

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

wanted, definitions = sys.argv[1], sys.argv[2:]
problems = []
for path in definitions:
    with open(path) as handle:
        got = yaml.safe_load(handle)["dependencies"]["ansible_core"]["package_pip"]
    if got != "ansible-core" + wanted:
        problems.append("%s: ansible_core is %r, EE_ANSIBLE_CORE_RANGE says %r" % (path, got, "ansible-core" + wanted))
tested = sorted({Version(match) for path in glob.glob("requirements-dev*.txt")
                 for match in re.findall(r"^ansible-core==([0-9.]+)\s*$", open(path).read(), re.M)})
if not tested:
    problems.append("no ansible-core pin in requirements-dev*.txt")
else:
    spec = SpecifierSet(wanted)
    problems += ["ansible-core %s is tested but outside %s" % (v, wanted) for v in tested if v not in spec]
    lowest, highest = tested[0], tested[-1]
    below = Version("%d.%d.999" % (lowest.major, lowest.minor - 1))
    above = Version("%d.%d.0" % (highest.major, highest.minor + 1))
    problems += ["%s admits ansible-core %s, which is not tested" % (wanted, v) for v in (below, above) if v in spec]
    print("  tested: %s; %s admits them, not %s nor %s" % (", ".join(map(str, tested)), wanted, below, above))
for problem in problems:
    print("ee-check: FAIL: " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PYEOF

echo "ee-check: ansible-builder introspect --sanitize $collections"
introspected=$(mktemp)
trap 'rm -f "$introspected"' EXIT
ansible-builder introspect --sanitize "$collections" >"$introspected"
sed 's/^/  /' "$introspected"
require introspect "$introspected" \
    "^- 'pywinrm\[[a-z,]*kerberos[a-z,]*\].*from collection remote_desktop\.licensing" \
    "^- 'krb5-libs \[platform:rpm\].*from collection remote_desktop\.licensing" \
    "^- 'krb5-devel \[platform:rpm compile\].*from collection remote_desktop\.licensing" \
    "^- 'libkrb5-3 \[platform:dpkg\].*from collection remote_desktop\.licensing" \
    "^- 'libkrb5-dev \[platform:dpkg compile\].*from collection remote_desktop\.licensing"

# create DEFINITION CONTEXT: ansible-builder create, then the checks both variants share
create() {
    local definition=$1 dir=$2
    echo "ee-check: ansible-builder create -f $definition -c $dir"
    rm -rf "$dir"
    ansible-builder create -f "$definition" -c "$dir" --output-filename Containerfile
    for file in Containerfile _build/requirements.txt _build/bindep.txt _build/requirements.yml; do
        [[ -f $dir/$file ]] || { fail "create $definition: $dir/$file is missing"; return; }
    done
    require "create $definition" "$dir/_build/requirements.txt" '^pywinrm\[[a-z,]*kerberos[a-z,]*\]'
    require "create $definition" "$dir/_build/bindep.txt" '^krb5-libs ' '^krb5-devel ' '^krb5-workstation '
    require "create $definition" "$dir/_build/requirements.yml" 'name: ansible\.windows'
    require "create $definition" "$dir/Containerfile" '^FROM ' 'ansible-galaxy collection install' 'introspect' \
        "ANSIBLE_INSTALL_REFS=\"ansible-core${EE_ANSIBLE_CORE_RANGE//./\\.} "
}

create "${definitions[0]}" "$context"
require "create ${definitions[0]}" "$context/_build/requirements.yml" 'name: remote_desktop\.licensing'

version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball=remote_desktop-licensing-$version.tar.gz
if [[ ! -f build/$tarball ]]; then
    fail "build/$tarball is missing: run make build first (make ee-check does)"
else
    create "${definitions[1]}" "$context-local"
    [[ -f $context-local/_build/local-collections/$tarball ]] ||
        fail "create ${definitions[1]}: the build context has no local-collections/$tarball"
    require "create ${definitions[1]}" "$context-local/_build/requirements.yml" \
        "name: local-collections/${tarball//./\\.}\$" 'type: file'
fi

if [[ $status -eq 0 ]]; then
    echo "ee-check: OK: both definitions carry pywinrm, Kerberos and ansible-core$EE_ANSIBLE_CORE_RANGE; build contexts in $context and $context-local"
fi
exit "$status"
