#!/usr/bin/env python
"""Run galaxy-importer on a built collection tarball, locally and offline.

Settings come from GALAXY_IMPORTER_CONFIG (tools/galaxy-importer.cfg: no
container, no ansible-test, offline ansible-lint). The importer's own output
is shown as it runs; at the end its WARNING lines are repeated as a summary.
Exit 1 when the importer fails or logs any ERROR line.

Usage: galaxy-import.py TARBALL   (run from the directory that should receive
importer_result.json, e.g. build/)
"""

from __future__ import annotations

import subprocess
import sys


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    process = subprocess.Popen(
        [sys.executable, '-m', 'galaxy_importer.main', argv[0]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    warnings, errors = [], []
    for line in process.stdout:
        sys.stdout.write(line)
        if line.startswith('WARNING:'):
            warnings.append(line.rstrip())
        elif line.startswith(('ERROR:', 'CRITICAL:')) or line.startswith('Traceback'):
            errors.append(line.rstrip())
    status = process.wait()
    print('galaxy-import: %d warning(s), %d error(s), importer exit status %d' % (len(warnings), len(errors), status))
    for line in warnings:
        print('  %s' % line)
    for line in errors:
        print('  %s' % line)
    return 1 if status or errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
