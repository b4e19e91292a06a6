"""``launch.toml``: the app's process types for the CNB launcher.

The same types a slug gets (``processes.release_types``: the Procfile, else the default
``web``), each run by ``bash -c`` as the platforms run Procfile commands (Buildpack API
0.9 and later run commands directly, so ``$PORT`` needs the shell). ``web`` is the
default process. ``APP_BASE`` apps run in their folder (``working-dir``).
"""
from __future__ import annotations

from pathlib import Path

from buildpack.base import toml_io

DEFAULT_TYPE = "web"


def render(process_types: dict[str, str], working_dir: Path | None) -> str:
    processes = []
    for name, command in process_types.items():
        process: dict[str, object] = {"type": name, "command": ["bash", "-c", command],
                         "default": name == DEFAULT_TYPE}
        if working_dir is not None:
            process["working-dir"] = str(working_dir)
        processes.append(process)
    return toml_io.dumps({"processes": processes})


def write(layers_dir: Path, process_types: dict[str, str], working_dir: Path | None) -> None:
    """Write ``launch.toml`` (none for an app without processes: there is nothing to run)."""
    if process_types:
        (layers_dir / "launch.toml").write_text(render(process_types, working_dir),
                                                encoding="utf-8")
