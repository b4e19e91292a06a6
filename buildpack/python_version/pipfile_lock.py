"""Pipfile.lock: parse it, and which Python it asks for.

Whether the lock is current (its ``_meta.hash`` against the Pipfile) is left to Pipenv
itself (``pipenv install --deploy``): the hash covers the Pipfile as Pipenv normalises
it (default sources, source defaults, name casing, pip configuration), which only
Pipenv reproduces faithfully.
"""
from __future__ import annotations

import json
from typing import Any

from buildpack.base.output import BuildError


def parse(text: str) -> dict[str, Any]:
    """The lock's data, from its text (read by ``app_files.AppFiles``)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BuildError(
            "Pipfile.lock is not valid JSON",
            f"Pipfile.lock could not be read: {str(exc) or 'nested too deeply'}\n\n"
            "It may hold unresolved merge-conflict markers. Regenerate it with\n"
            "`pipenv lock` and commit the result.",
            error_id="pipenv::lock-invalid-json",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("_meta"), dict):
        raise BuildError("Pipfile.lock has no _meta section",
                         "It is not a lock file written by Pipenv. Regenerate it with `pipenv lock`.",
                         error_id="pipenv::lock-no-meta")
    return data


def python_request(lock: dict[str, Any]) -> tuple[str, str] | None:
    """(key, value) of the lock's Python version requirement, full version first."""
    requires = lock["_meta"].get("requires", {})
    if not isinstance(requires, dict):
        return None
    for key in ("python_full_version", "python_version"):
        value = requires.get(key)
        if isinstance(value, str) and value.strip():
            return key, value.strip()
    return None
