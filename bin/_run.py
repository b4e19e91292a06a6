"""Entry point shared by the bin/ shims: puts the buildpack on sys.path and dispatches.

This file must run on any python3 the build host may have, so it checks the version
before importing the buildpack (whose annotations need 3.9) and uses no newer syntax.
"""
import os
import sys

if sys.version_info < (3, 9):
    sys.stderr.write(
        " !     Error: buildpack-python needs Python 3.9 or newer as the build host's python3,"
        " but it is %s (%s). (error id: host::python-too-old)\n"
        % (".".join(map(str, sys.version_info[:3])), sys.executable))
    sys.exit(1)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if len(sys.argv) > 3 and sys.argv[1] in ("compile", "test-compile"):
    # the buildpack's bytecode kept in CACHE_DIR, when intact (buildpack/base/bytecode_cache.py)
    from buildpack.base import bytecode_cache  # noqa: E402

    bytecode_cache.use(sys.argv[3])

from buildpack.commands.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
