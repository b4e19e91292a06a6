"""``bin/compile BUILD_DIR CACHE_DIR [ENV_DIR]``: turn an app dir into a runnable slug.

Inputs (app dir, config vars, store, cache) become a plan first (``plan.plan``), then the
steps run (``steps.run``) into the slug target (``slug.target``). If a step fails, what
this build added to BUILD_DIR is removed again; the cache only ever receives complete,
verified entries."""
from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from buildpack import steps
from buildpack.app_build import sbom
from buildpack.base import bytecode_cache, output, slug_layout
from buildpack.base.output import BuildError
from buildpack.cache import build_report, env_cache
from buildpack.plan.plan import make_plan, prepare, read_inputs
from buildpack.slug.target import SlugTarget, cleanup


def _parse_args(argv: list[str]) -> tuple[Path, Path, Path | None]:
    if len(argv) < 2:
        raise BuildError("Usage: bin/compile BUILD_DIR CACHE_DIR [ENV_DIR]",
                         "The platform passes the app's build dir and a cache dir.",
                         error_id="usage::compile-arguments")
    build_dir = Path(argv[0]).resolve()
    if not build_dir.is_dir():
        raise BuildError(f"BUILD_DIR {argv[0]} is not a directory",
                         error_id="usage::build-dir-missing")
    env_dir = Path(argv[2]) if len(argv) > 2 and argv[2] else None
    cache_dir = Path(argv[1]).resolve()
    for name, path in (("BUILD_DIR", build_dir), ("CACHE_DIR", cache_dir)):
        _check_path(name, path)
    return build_dir, cache_dir, env_dir


_UNSAFE_IN_PATH = re.compile(r"""['"$`\\\x00-\x1f\x7f]""")


def _check_path(name: str, path: Path) -> None:
    """Refuse a build or cache path that scripts cannot name: not UTF-8 (pip and the
    interpreter fail on it), or with quotes, ``$``, backquotes, backslashes or control
    characters (console scripts and shell profiles quote the path)."""
    text = str(path)
    try:
        text.encode("utf-8")
        bad = _UNSAFE_IN_PATH.search(text)
    except UnicodeEncodeError:
        bad = None
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        problem = "is not valid UTF-8"
    else:
        shown = text
        problem = f"contains {bad.group()!r}" if bad else ""
    if problem:
        raise BuildError(
            f"The {name} path cannot be used for a build",
            f"{name} is {shown!r}, which {problem}. Scripts the build writes name this\n"
            "path (console scripts, pip's records), and such a path breaks them. This is a\n"
            "setting of the build server, not of the app: build in a path of letters,\n"
            "digits and `/._-` (e.g. /tmp/build_1234).",
            error_id="usage::unusable-path")


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str], dev: bool = False) -> int:
    build_dir, cache_dir, env_dir = _parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    error_id: str | None = "build::interrupted"  # unless it ends otherwise
    try:
        _build(build_dir, cache_dir, env_dir, dev)
        error_id = None
    except BuildError as exc:
        error_id = exc.error_id
        raise
    except OSError as exc:
        error_id = output.system_error(exc).error_id
        raise
    finally:
        build_report.write(cache_dir, started, error_id)
    return 0


def _build(build_dir: Path, cache_dir: Path, env_dir: Path | None, dev: bool) -> None:
    with env_cache.locked(cache_dir):
        env_cache.remove_stale_temp(cache_dir)
        # The SBOM beside the report is this build's or none: a failed build leaves none.
        (cache_dir / sbom.CACHE_NAME).unlink(missing_ok=True)
        if dev:
            output.step("CI build (bin/test-compile): installing the dev and test dependencies too")
        inputs = read_inputs(build_dir, cache_dir, env_dir, dict(os.environ))
        prepare(inputs)  # the buildpack's libraries into CACHE_DIR: planning reads with them
        plan = make_plan(inputs, dev)
        heroku_existed = (build_dir / ".heroku").exists()
        profile_existed = (build_dir / ".profile.d" / slug_layout.PROFILE_NAME).exists()
        try:
            steps.run(plan, SlugTarget(build_dir, cache_dir))
        except BaseException:
            cleanup(build_dir, heroku_existed, profile_existed)
            raise
        bytecode_cache.refresh()  # the next build imports the buildpack faster
