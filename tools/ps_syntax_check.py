#!/usr/bin/env python
"""Syntax-check PowerShell files with tree-sitter-powershell.

ansible-test's pslint needs pwsh, which our machines do not have. This is a
stand-in for pslint's parse step only (not for its PSScriptAnalyzer rules):
every ``*.ps1`` / ``*.psm1`` file is parsed, and each ERROR or MISSING node of
the syntax tree is reported as ``file:line:col``.

Usage: ps_syntax_check.py [PATH ...]   (default: plugins)
A PATH may be a file or a directory (searched recursively).
Exit status: 0 when every file parses, 1 when any has a syntax error, 2 on
usage errors (for example a path that does not exist).

The grammar (tree-sitter-powershell 0.26) rejects some valid PowerShell. Seen
on ansible.windows, community.windows and microsoft.ad (28 of 133 files):

* bare words in a comma list as a command argument:
  ``Get-CimInstance -Property Domain, DomainRole`` (write
  ``-Property 'Domain', 'DomainRole'`` or ``@('Domain', 'DomainRole')``);
* the ``-cin`` / ``-cnotin`` operators;
* an empty script block as a hashtable value: ``@{ New = {} }``;
* a regex switch clause with ``(`` ... ``+`` in the string: ``"^a(.+)" { }``;
* two or more switch clauses on one line without ``;`` between them:
  ``switch ($x) { 'a' { 1 } 'b' { 2 } }`` (put each clause on its own line or
  write ``{ 'a' { 1 }; 'b' { 2 } }``);
* a one-line function with a ``param()`` block (the multi-line form parses);
* generic types with arity or nested brackets:
  ``[List`1[String]]``, ``[Func[[Object], [UInt32]]]``;
* an indexed method call as a command argument: ``Cmd $a.b()[$i]``.

Prefer rewriting such a line; where that is not reasonable, end it with the
comment ``# ps-syntax-check: ignore`` (errors starting on that line are then
reported as ignored and do not fail the check).
"""

from __future__ import annotations

import os
import sys

import tree_sitter
import tree_sitter_powershell

EXTENSIONS = ('.ps1', '.psm1')
IGNORE_MARK = b'ps-syntax-check: ignore'


def find_files(paths):
    """Yield the PowerShell files named by or found under paths, sorted."""
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
            continue
        for root, dir_names, file_names in os.walk(path):
            dir_names.sort()
            found.extend(os.path.join(root, name) for name in file_names if name.lower().endswith(EXTENSIONS))
    return sorted(set(found))


def error_nodes(node):
    """Yield every ERROR or MISSING node of the tree below node (node included)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            yield current
        if current.has_error:
            stack.extend(reversed(current.children))


def check(parser, path):
    """Return (problems, ignored): lists of report lines for the file at path."""
    with open(path, 'rb') as source:
        data = source.read()
    if data.startswith(b'\xef\xbb\xbf'):  # UTF-8 BOM: columns on line 1 stay as the editor shows them
        data = data[3:]
    tree = parser.parse(data)
    if not tree.root_node.has_error:
        return [], []
    lines = data.splitlines()
    problems = []
    ignored = []
    for node in sorted(error_nodes(tree.root_node), key=lambda n: (n.start_point, n.end_point)):
        row, column = node.start_point
        if node.is_missing:
            what = 'missing %r' % node.type
        else:
            what = 'syntax error (in %s)' % (repr(node.children[0].type) if node.children else 'unparsed input')
        line = lines[row] if row < len(lines) else b''
        report = '%s:%d:%d: %s: %s' % (path, row + 1, column + 1, what, line.decode('utf-8', 'replace').strip()[:120])
        (ignored if IGNORE_MARK in line else problems).append(report)
    if not problems and not ignored:  # has_error without an ERROR/MISSING node: never pass silently
        problems.append('%s:1:1: syntax error (tree-sitter reported an error)' % path)
    return problems, ignored


def main(argv):
    paths = argv or ['plugins']
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        print('ps_syntax_check: no such file or directory: %s' % ', '.join(missing), file=sys.stderr)
        return 2
    files = find_files(paths)
    if not files:
        print('ps_syntax_check: no PowerShell files (*.ps1, *.psm1) under %s' % ', '.join(paths))
        return 0
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    bad = ignored_count = 0
    for path in files:
        problems, ignored = check(parser, path)
        for report in ignored:
            print('%s [ignored]' % report)
        ignored_count += len(ignored)
        if problems:
            bad += 1
            print('\n'.join(problems))
    print('ps_syntax_check: %d file(s) checked, %d with syntax errors, %d error(s) ignored by comment'
          % (len(files), bad, ignored_count))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
