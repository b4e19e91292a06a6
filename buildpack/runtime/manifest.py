"""The runtime store's ``manifest.json``: what archives a store holds.

Schema (version 1)::

    {
      "schema": 1,
      "runtimes": [
        {"version": "3.12.1", "stack": "debian-12", "arch": "x86_64",
         "file": "python-3.12.1-debian-12-x86_64.tar.xz",
         "sha256": "<64 hex>", "size": 12345678}
      ]
    }

``file`` is relative to the manifest's location. Each archive unpacks to a CPython
prefix (``bin/python3``, ``lib/python3.X/``, ``include/``) with no top-level folder.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from buildpack.base.numbers import NumberError, parse_version

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9._+-]+$")


class ManifestError(ValueError):
    """The manifest is not valid; the message says what is wrong."""


@dataclass(frozen=True)
class RuntimeEntry:
    version: str
    stack: str
    arch: str
    file: str
    sha256: str
    size: int

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        major, minor, patch = parse_version(self.version, parts=(3,))  # checked when read
        return major, minor, patch


def archive_name(version: str, stack: str, arch: str, suffix: str = "tar.xz") -> str:
    return f"python-{version}-{stack}-{arch}.{suffix}"


def _entry_from_dict(raw: object, index: int) -> RuntimeEntry:
    where = f"runtimes[{index}]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is not an object")
    fields: dict[str, Any] = {}
    for name, kind in (("version", str), ("stack", str), ("arch", str),
                       ("file", str), ("sha256", str), ("size", int)):
        value = raw.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ManifestError(f"{where}.{name} is missing or not a {kind.__name__}")
        fields[name] = value
    try:
        parse_version(fields["version"], parts=(3,))
    except NumberError as exc:
        raise ManifestError(f"{where}.version: {exc}") from None
    if not _SHA256_RE.fullmatch(fields["sha256"]):
        raise ManifestError(f"{where}.sha256 is not 64 lowercase hex digits")
    if not _FILE_RE.fullmatch(fields["file"]):
        raise ManifestError(f"{where}.file {fields['file']!r} is not a plain file name")
    if fields["size"] <= 0:
        raise ManifestError(f"{where}.size must be positive")
    return RuntimeEntry(**fields)


def parse_manifest(text: str) -> list[RuntimeEntry]:
    """Parse manifest JSON text into entries, or raise ManifestError."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ManifestError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise ManifestError("JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ManifestError("the top level is not a JSON object")
    schema = data.get("schema")
    if schema != SCHEMA_VERSION:
        raise ManifestError(
            f"schema is {schema!r}; this buildpack reads schema {SCHEMA_VERSION}")
    runtimes = data.get("runtimes")
    if not isinstance(runtimes, list):
        raise ManifestError("'runtimes' is missing or not a list")
    return [_entry_from_dict(raw, i) for i, raw in enumerate(runtimes)]


def render_manifest(entries: list[RuntimeEntry]) -> str:
    """Serialise entries (sorted, one per version/stack/arch) as manifest JSON."""
    unique = {(e.version_tuple, e.stack, e.arch): e for e in entries}
    ordered = [unique[k] for k in sorted(unique)]
    doc = {"schema": SCHEMA_VERSION, "runtimes": [asdict(e) for e in ordered]}
    return json.dumps(doc, indent=2) + "\n"


def merge(existing: list[RuntimeEntry], new: list[RuntimeEntry]) -> list[RuntimeEntry]:
    """Entries of ``new`` replace those of ``existing`` with the same version/stack/arch."""
    keys = {(e.version, e.stack, e.arch) for e in new}
    return [e for e in existing if (e.version, e.stack, e.arch) not in keys] + list(new)
