"""Entry point shared by the bin/ shims: puts the buildpack on sys.path and dispatches."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from buildpack.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
