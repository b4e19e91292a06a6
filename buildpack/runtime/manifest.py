"""The runtime store's ``manifest.json``: what archives a store holds.

Schema (version 1)::

    {
      "schema": 1,
      "runtimes": [
        {"version": "3.12.1", "stack": "debian-12", "arch": "x86_64",
         "file": "python-3.12.1-debian-12-x86_64.tar.xz",
         "sha256": "<64 hex>", "size": 12345678},
        {"version": "3.13.15", "variant": "freethreaded", "stack": "debian-12", ...,
         "file": "python-3.13.15t-debian-12-x86_64.tar.xz", ...}
      ]
    }

``file`` is relative to the manifest's location. Each archive unpacks to a CPython
prefix (``bin/python3``, ``lib/python3.X/``, ``include/``) with no top-level folder.
``variant`` (``runtime.variants``) is left out for the default build, so a store
without free-threaded runtimes has the manifest it always had; ``"freethreaded"``
marks a ``--disable-gil`` build (``bin/python3.13t``, ``lib/python3.13t/``), which
only an app asking for ``3.13t`` gets. ``version`` stays the release (X.Y.Z).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from buildpack.base.numbers import NumberError, parse_version
from buildpack.runtime import variants

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
    variant: str = variants.DEFAULT

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        major, minor, patch = parse_version(self.version, parts=(3,))  # checked when read
        return major, minor, patch

    @property
    def label(self) -> str:
        """"3.13.15", or "3.13.15t" for the free-threaded build: how logs and errors say it."""
        return variants.versioned(self.version, self.variant)

    def as_dict(self) -> dict[str, Any]:
        """The manifest's object for the entry (no ``variant`` key for the default build)."""
        raw = asdict(self)
        if not self.variant:
            del raw["variant"]
        return {key: raw[key] for key in _FIELD_ORDER if key in raw}


# The order of an entry's keys in manifest.json.
_FIELD_ORDER = ("version", "variant", "stack", "arch", "file", "sha256", "size")


def archive_name(version: str, stack: str, arch: str, suffix: str = "tar.xz",
                 variant: str = variants.DEFAULT) -> str:
    return f"python-{variants.versioned(version, variant)}-{stack}-{arch}.{suffix}"


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
    variant = raw.get("variant", variants.DEFAULT)
    if variant not in variants.VARIANTS or variant == variants.DEFAULT and "variant" in raw:
        known = ", ".join(repr(v) for v in variants.VARIANTS if v)
        raise ManifestError(f"{where}.variant must be {known} (or left out for the default build)")
    return RuntimeEntry(**fields, variant=variant)


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
    """Serialise entries (sorted, one per version/variant/stack/arch) as manifest JSON."""
    unique = {(e.version_tuple, e.variant, e.stack, e.arch): e for e in entries}
    ordered = [unique[k] for k in sorted(unique)]
    doc = {"schema": SCHEMA_VERSION, "runtimes": [e.as_dict() for e in ordered]}
    return json.dumps(doc, indent=2) + "\n"


def merge(existing: list[RuntimeEntry], new: list[RuntimeEntry]) -> list[RuntimeEntry]:
    """Entries of ``new`` replace those of ``existing`` with the same version/variant/stack/arch."""
    keys = {(e.version, e.variant, e.stack, e.arch) for e in new}
    return [e for e in existing if (e.version, e.variant, e.stack, e.arch) not in keys] + list(new)
