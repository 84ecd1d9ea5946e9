#!/usr/bin/env bash
# make ee-check: check what an execution environment (AWX, ansible-navigator) gets from this
# collection, without building an image (no container engine here).
#
#   1. ansible-builder introspect --sanitize COLLECTIONS: the Python and system requirements that
#      ansible-builder reads from the collection (meta/execution-environment.yml -> requirements.txt,
#      bindep.txt) must hold pywinrm and the Kerberos packages, for rpm and dpkg platforms.
#   2. ansible-builder create -f docs/awx/execution-environment.yml into CONTEXT: the build context
#      must hold the Containerfile, pywinrm, the Kerberos packages and both collections.
#
# Usage: tools/ee-check.sh COLLECTIONS_ROOT CONTEXT_DIR   (ansible-builder on PATH)
set -euo pipefail

collections=${1:?usage: $0 COLLECTIONS_ROOT CONTEXT_DIR}
context=${2:?usage: $0 COLLECTIONS_ROOT CONTEXT_DIR}
definition=docs/awx/execution-environment.yml
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

echo "ee-check: ansible-builder create -f $definition -c $context"
rm -rf "$context"
ansible-builder create -f "$definition" -c "$context" --output-filename Containerfile
for file in Containerfile _build/requirements.txt _build/bindep.txt _build/requirements.yml; do
    [[ -f $context/$file ]] || fail "create: $context/$file is missing"
done
if [[ $status -eq 0 ]]; then
    require create "$context/_build/requirements.txt" '^pywinrm\[[a-z,]*kerberos[a-z,]*\]'
    require create "$context/_build/bindep.txt" '^krb5-libs ' '^krb5-devel ' '^krb5-workstation '
    require create "$context/_build/requirements.yml" 'name: remote_desktop\.licensing' 'name: ansible\.windows'
    require create "$context/Containerfile" '^FROM ' 'ansible-galaxy collection install' 'introspect'
fi

if [[ $status -eq 0 ]]; then
    echo "ee-check: OK: the collection's metadata and $definition carry pywinrm and Kerberos; build context in $context"
fi
exit "$status"
