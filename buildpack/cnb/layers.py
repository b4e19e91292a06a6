"""Layer directories in CNB_LAYERS_DIR and their ``<layer>.toml``.

A layer's ``[types]`` say whether the lifecycle puts it in the app image (``launch``),
shows it to later buildpacks (``build``) and keeps it for the next build (``cache``).
The lifecycle restores a ``<layer>.toml`` without its ``[types]``, so the buildpack
writes the whole file again on every build, and restores ``[metadata]`` through JSON:
numbers come back as floats, so the metadata this buildpack writes is strings only.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from buildpack.base import cache_files, output, toml_io

MAX_METADATA_BYTES = 1024 * 1024  # a layer TOML is a few hundred bytes


@dataclass(frozen=True)
class LayerTypes:
    launch: bool = False
    build: bool = False
    cache: bool = False


@dataclass(frozen=True)
class Layers:
    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def remove(self, name: str) -> None:
        """Remove layer ``name``'s directory (the previous build's, if any)."""
        path = self.path(name)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()

    def fresh(self, name: str) -> Path:
        """An empty directory for layer ``name``."""
        self.remove(name)
        path = self.path(name)
        path.mkdir(parents=True)
        return path

    def forget(self, name: str) -> None:
        """Remove ``<name>.toml``: the lifecycle then neither exports nor caches the layer,
        and the next build does not take it for the layer that file described."""
        (self.root / f"{name}.toml").unlink(missing_ok=True)

    def metadata(self, name: str) -> dict[str, Any] | None:
        """The ``[metadata]`` of the previous build's layer; None when there is none or
        it cannot be read (then the layer is built afresh)."""
        path = self.root / f"{name}.toml"
        text = cache_files.text_or_replace(path, MAX_METADATA_BYTES, f"the {name} layer's metadata")
        if text is None:
            return None
        try:
            data = toml_io.loads(text)
        except (ValueError, ImportError) as exc:  # not TOML, nested too deep; no tomli yet
            output.detail(f"The previous {name} layer's metadata cannot be read ({exc}):\n"
                          "building the layer afresh.")
            return None
        metadata = data.get("metadata", {})
        return metadata if isinstance(metadata, dict) else None

    def write(self, name: str, types: LayerTypes, metadata: dict[str, Any] | None = None) -> None:
        document: dict[str, Any] = {"types": asdict(types)}
        if metadata:
            document["metadata"] = metadata
        (self.root / f"{name}.toml").write_text(toml_io.dumps(document), encoding="utf-8")
