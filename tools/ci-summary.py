#!/usr/bin/env python
"""Summarise the pytest runs of a `make test` log (used by .ci/run).

Prints each pytest summary line with the run it belongs to (the
"run-pytest: LABEL: ..." line that tools/run-pytest.sh prints before it),
every "SKIPPED: ..." line and the time of each ansible-core leg (tools/core-leg.sh),
then one line with the totals: "TOTAL: N passed, N failed, N skipped".
"failed" counts failed tests and errors.

Usage: ci-summary.py LOG
"""

from __future__ import annotations

import re
import sys

ANSI = re.compile(r'\x1b\[[0-9;]*m')
LABEL = re.compile(r'^run-pytest: (?P<label>.+?): (pytest |nothing to run)')
SUMMARY = re.compile(r'^=+ (?P<body>.*\b(passed|failed|errors?|skipped|deselected|xfailed|xpassed|no tests ran)\b.*) in [0-9.]+s( \([0-9:]+\))? =+$')
# Lines repeated as they are: a leg that did not run, and each ansible-core leg's time (tools/core-leg.sh).
NOTICE = re.compile(r'^(SKIPPED: .*|core-leg: ansible-core \S+: (passed|FAILED) in .*)$')
COUNT = re.compile(r'(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)')


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    label = 'pytest'
    rows = []
    with open(argv[0], encoding='utf-8', errors='replace') as log:
        for raw in log:
            line = ANSI.sub('', raw.rstrip('\n'))
            match = LABEL.match(line)
            if match:
                label = match.group('label')
                if line.endswith('nothing to run'):
                    rows.append('%s: no test files yet' % label)
                continue
            if NOTICE.match(line):
                rows.append(line)
                continue
            match = SUMMARY.match(line)
            if not match:
                continue
            rows.append('%s: %s' % (label, match.group('body')))
            for number, kind in COUNT.findall(match.group('body')):
                if kind in ('failed', 'error', 'errors'):
                    totals['failed'] += int(number)
                elif kind in ('passed', 'xpassed'):
                    totals['passed'] += int(number)
                elif kind in ('skipped', 'xfailed'):
                    totals['skipped'] += int(number)
            label = 'pytest'
    print('ci: pytest runs')
    for row in rows or ['(none)']:
        print('  %s' % row)
    print('TOTAL: %d passed, %d failed, %d skipped' % (totals['passed'], totals['failed'], totals['skipped']))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
