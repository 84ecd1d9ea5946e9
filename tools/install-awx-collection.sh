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

exec "$root/tools/collection-from-bundle.sh" "$python" "$cache" "$bundle" awx.awx "$awx" "$dest" 3.11  # the bundle's own Python floor: any controller's pip fetches it
