"""SHA-256 of files and of settings: the runtime archives, pinned tools and the cache key."""
from __future__ import annotations

import hashlib
from pathlib import Path

from buildpack.base.http_client import CHUNK


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(base)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def hash_settings(values: dict[str, str]) -> str:
    text = "\n".join(f"{k}={v}" for k, v in sorted(values.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
