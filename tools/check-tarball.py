#!/usr/bin/env python
"""Check that a built collection tarball holds only the product.

``ansible-galaxy collection build`` ignores .gitignore: only ``build_ignore`` in
galaxy.yml keeps things out. This fails (exit 1) when the tarball has a member
that is not part of the collection (the simulated lab, tests other than
sanity, virtual environments, build output, tooling, caches) or a symlink, and
prints the file list otherwise.

Usage: check-tarball.py TARBALL
"""

from __future__ import annotations

import fnmatch
import sys
import tarfile

# Paths (relative to the collection root) that must never ship. A pattern matches a member
# and everything below it.
FORBIDDEN = (
    '.venv*', '.git', '.github', '.ci', '.ansible', '.cache', '.pytest_cache', '.coverage*', '.tox',
    'build', 'collections', 'htmlcov', 'lab-state', 'tools', 'Makefile', 'pytest.ini',
    'requirements-dev*.txt', 'importer_result.json', '*.tar.gz',
    'tests/lab', 'tests/e2e', 'tests/unit', 'tests/output', 'tests/integration/inventory*',
    'changelogs/.plugin-cache.yaml', '*/__pycache__', '__pycache__', '*.pyc',
)
REQUIRED = ('MANIFEST.json', 'FILES.json', 'meta/runtime.yml')


def forbidden(name):
    """Return the pattern that name (or one of its parents) matches, or None."""
    parts = name.rstrip('/').split('/')
    for depth in range(1, len(parts) + 1):
        prefix = '/'.join(parts[:depth])
        for pattern in FORBIDDEN:
            if fnmatch.fnmatchcase(prefix, pattern):
                return pattern
    return None


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    with tarfile.open(argv[0]) as tarball:
        members = tarball.getmembers()
    names = [member.name for member in members]
    for member in members:
        pattern = forbidden(member.name)
        if pattern:
            problems.append('%s: not part of the product (matches %r; add it to build_ignore in galaxy.yml)' % (member.name, pattern))
        if member.issym() or member.islnk():
            problems.append('%s: link to %s (galaxy-importer and installs handle links badly)' % (member.name, member.linkname))
    problems.extend('%s: missing' % name for name in REQUIRED if name not in names)
    files = sorted(member.name for member in members if member.isfile())
    print('check-tarball: %s: %d files' % (argv[0], len(files)))
    for name in files:
        print('  %s' % name)
    for problem in problems:
        print('check-tarball: ERROR: %s' % problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
