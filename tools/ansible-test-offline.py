#!/usr/bin/env python
"""Run ansible-test without the Ansible CI file host.

``ansible-test ... --venv`` (and ``--local``) bootstraps pip in every virtual
environment it creates with a ``get-pip.py`` script that it downloads from
the Ansible CI file host. That host is not reachable from our machines, so
this wrapper

1. reads the pip version(s) that the installed ansible-test pins
   (``pip='X.Y'`` in ``ansible_test/_internal/python_requirements.py``:
   24.2 on ansible-core 2.19, 25.2 on 2.21),
2. downloads that pip wheel from PyPI (``pip download``),
3. writes a stand-in ``~/.ansible/test/cache/get_pip_X_Y.py`` that puts the
   wheel on ``sys.path`` and runs ``pip install --upgrade --force-reinstall``
   like the real get-pip.py, which ansible-test looks for before
   downloading anything,
4. runs ``ansible-test`` (the one next to this Python interpreter) inside the
   collection directory, with ``ANSIBLE_TEST_CONTENT_ROOT`` set.

``ANSIBLE_TEST_CONTENT_ROOT`` is needed because our collection directory
(``build/collections/ansible_collections/<ns>/<name>``) is a symlink to the
repository root: ``os.getcwd()`` resolves the symlink, and without the
variable ansible-test sees the repository root, which is not inside an
``ansible_collections`` directory.

Usage::

    python tools/ansible-test-offline.py --collection DIR -- sanity --venv ...
    python tools/ansible-test-offline.py --prepare-only
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

CACHE_DIR = os.path.expanduser('~/.ansible/test/cache')

STAND_IN = '''\
"""Offline stand-in for get-pip.py, written by tools/ansible-test-offline.py.

Installs pip {version} from a wheel downloaded from PyPI instead of the
zip that the real get-pip.py embeds.
"""
import argparse
import importlib.util
import os
import runpy
import sys

WHEEL = {wheel!r}


def main():
    pre_parser = argparse.ArgumentParser(add_help=False)
    pre_parser.add_argument('--no-setuptools', action='store_true')
    pre_parser.add_argument('--no-wheel', action='store_true')
    pre, args = pre_parser.parse_known_args(sys.argv[1:])
    if not any(arg.split('=')[0].split('<')[0].split('>')[0] == 'pip' for arg in args):
        args.append('pip')
    if not (pre.no_setuptools or os.environ.get('PIP_NO_SETUPTOOLS')
            or importlib.util.find_spec('setuptools')):
        args.append('setuptools')
    if not (pre.no_wheel or os.environ.get('PIP_NO_WHEEL')
            or importlib.util.find_spec('wheel')):
        args.append('wheel')
    sys.path.insert(0, WHEEL)
    sys.argv = ['pip', 'install', '--upgrade', '--force-reinstall'] + args
    runpy.run_module('pip', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
'''


def pinned_pip_versions():
    """Return the pip versions the installed ansible-test bootstraps."""
    import ansible_test  # pylint: disable=import-outside-toplevel

    path = os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')
    with open(path, encoding='utf-8') as source:
        versions = sorted(set(re.findall(r"""\bpip=['"]([0-9][^'"]*)['"]""", source.read())))
    if not versions:
        raise SystemExit('ansible-test-offline: no pip pin found in %s' % path)
    return versions


def find_wheel(version):
    """Return the path of the cached pip wheel for version, or None."""
    prefix = 'pip-%s-' % version
    for name in sorted(os.listdir(CACHE_DIR)):
        if name.startswith(prefix) and name.endswith('.whl'):
            return os.path.join(CACHE_DIR, name)
    return None


def ensure_stand_in(version):
    """Write ~/.ansible/test/cache/get_pip_<version>.py unless a usable one exists."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    script = os.path.join(CACHE_DIR, 'get_pip_%s.py' % version.replace('.', '_'))
    wheel = find_wheel(version)
    if wheel is None:
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:',
             '--dest', CACHE_DIR, 'pip==%s' % version],
            check=True,
        )
        wheel = find_wheel(version)
        if wheel is None:
            raise SystemExit('ansible-test-offline: pip download left no pip %s wheel in %s' % (version, CACHE_DIR))
    content = STAND_IN.format(version=version, wheel=wheel)
    if os.path.exists(script):
        with open(script, encoding='utf-8') as current:
            if current.read() == content:
                return script
        # A real get-pip.py (downloaded on a machine with access) is kept as it is.
        with open(script, encoding='utf-8') as current:
            if 'tools/ansible-test-offline.py' not in current.read(200):
                return script
    with open(script + '.tmp', 'w', encoding='utf-8') as out:
        out.write(content)
    os.replace(script + '.tmp', script)
    print('ansible-test-offline: wrote %s (pip %s from %s)' % (script, version, os.path.basename(wheel)), flush=True)
    return script


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--collection', help='collection directory (.../ansible_collections/NS/NAME) to run ansible-test in')
    parser.add_argument('--prepare-only', action='store_true', help='only write the get-pip stand-in(s)')
    parser.add_argument('args', nargs=argparse.REMAINDER, help='arguments for ansible-test (after --)')
    options = parser.parse_args()

    for version in pinned_pip_versions():
        ensure_stand_in(version)
    if options.prepare_only:
        return 0

    args = options.args[1:] if options.args[:1] == ['--'] else options.args
    if not options.collection or not args:
        parser.error('--collection and ansible-test arguments are required')
    collection = os.path.abspath(options.collection)  # abspath, not realpath: keep the symlink
    if os.sep + 'ansible_collections' + os.sep not in collection:
        parser.error('%s is not inside an ansible_collections directory' % collection)

    ansible_test = os.path.join(os.path.dirname(sys.executable), 'ansible-test')
    env = dict(os.environ, ANSIBLE_TEST_CONTENT_ROOT=collection)
    os.chdir(collection)
    print('ansible-test-offline: (in %s) ansible-test %s' % (options.collection, ' '.join(args)), flush=True)
    return subprocess.call([ansible_test] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
