"""Running the buildpack's own programs (bin/compile, bin/release) as a platform does."""
from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from buildpack.base import error_classes
from buildpack.base.output import BuildError
from tests.support.index import clean_pip_env
from tests.support.machine import BIN, ROOT


@contextlib.contextmanager
def raises_id(error_id: str) -> Iterator[pytest.ExceptionInfo[BuildError]]:
    """Like ``pytest.raises(BuildError)``, and the error carries ``error_id``."""
    with pytest.raises(BuildError) as info:
        yield info
    assert info.value.error_id == error_id, f"{info.value.error_id} != {error_id}: {info.value}"


@dataclass
class Result:
    """What a program run by a test did (a build, a CNB lifecycle phase)."""
    returncode: int
    stdout: str
    stderr: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    @property
    def failure_exit(self) -> int:
        """The exit status the last error id in the log calls for: 75 for a transient
        failure, else 1 (``base.error_classes``); -1 when the log names no error id."""
        ids = re.findall(r"\(error id: ([\w.-]+::[\w.-]+)\)", self.log)
        return error_classes.exit_code(ids[-1]) if ids else -1


@dataclass
class BuildResult(Result):
    build_dir: Path


def build_env(store: str, index_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = clean_pip_env()
    env.pop("PIP_CONFIG_FILE")
    env.pop("PYTHON_RUNTIME_STORE", None)
    env["PYTHON_RUNTIME_STORE"] = store
    if index_url:
        env["PIP_INDEX_URL"] = index_url
    env.update(extra or {})
    return env


def compile_app(app_dir: Path, cache_dir: Path, env: dict[str, str],
                env_dir: Path | None = None, timeout: float = 600) -> BuildResult:
    args = [str(BIN / "compile"), str(app_dir), str(cache_dir)]
    if env_dir is not None:
        args.append(str(env_dir))
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return BuildResult(proc.returncode, proc.stdout, proc.stderr, app_dir)


def release_types(slug: Path, bin_dir: Path = BIN) -> dict[str, str]:
    """``default_process_types`` from the real bin/release."""
    out = subprocess.run([str(bin_dir / "release"), str(slug)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return yaml.safe_load(out)["default_process_types"]


def copy_buildpack(dest: Path) -> Path:
    """A private copy of the buildpack (bin, buildpack, vendor), as a platform checks it out:
    what compile writes into its own directory (``export``) stays out of the checkout."""
    target = dest / "buildpack-python"
    ignore = shutil.ignore_patterns("__pycache__", "runtimes", "wheels")
    for name in ("bin", "buildpack", "vendor"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    return target
