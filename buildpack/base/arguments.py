"""The command-line arguments of the programs around the build (``bin/local-deploy``,
``bin/build-offline-bundle``, ``bin/build-runtime-store``): checked before any work.

``ArgumentParser`` is argparse's, except that a bad argument ends with the usage line,
the problem and an error id (docs/errors.md), exit status 2. The types read numbers
through ``numbers`` (ASCII digits, a length bound), never through ``int()``.
"""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from buildpack.base.numbers import NumberError, parse_int, parse_version


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with ``error_id`` shown under the usage line when an argument is bad."""

    def __init__(self, *, error_id: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.error_id = error_id

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n(error id: {self.error_id})\n")
        sys.exit(2)


def port(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        return parse_int(text, max_digits=5, low=1, high=65535)
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"not a TCP port (1-65535): {exc}") from None


def python_version(text: str) -> str:
    """``X.Y`` or ``X.Y.Z``, each part 1-4 ASCII digits; returned as written."""
    try:
        parse_version(text, parts=(2, 3))
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"not a Python version such as 3.14: {exc}") from None
    return text
