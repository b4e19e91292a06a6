"""``bin/compile BUILD_DIR CACHE_DIR [ENV_DIR]``: turn an app dir into a runnable slug.

Inputs (app dir, config vars, store, cache) become a plan first — everything that can
be wrong with the app is found before anything is written — then the steps run. If a
step fails, what this build added to BUILD_DIR is removed again; the cache only ever
receives complete, verified entries.
"""
from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from buildpack import (app_base, app_files, build, build_report, env_cache, export_file, guard_rails,
                       installers, layout, libraries, nltk_data, output, platform_info, processes,
                       profile_d, python_choice, redact, relocate, settings)
from buildpack.envdir import lookup, read_env_dir
from buildpack.installers import managers, uv_pip
from buildpack.layout import PYTHON_DIR
from buildpack.manifest import MANIFEST_NAME, RuntimeEntry
from buildpack.output import BuildError
from buildpack.installers.failures import INDEX_URL_SETTINGS, index_urls
from buildpack.store import StoreLocation, check_url, parse_location, parse_timeout, read_manifest
from buildpack.requirements_files import check_text, env_references, included_files
from buildpack.subprocess_env import INSTALLER_ALLOWLIST, installer_settings


@dataclass(frozen=True)
class Plan:
    build_dir: Path
    cache_dir: Path
    config: dict[str, str]
    app_base: str  # the app's folder in BUILD_DIR ("" for the root), see app_base
    store: StoreLocation
    runtime: RuntimeEntry
    dependencies: installers.Choice
    files: app_files.AppFiles  # the one reader of the app's files (read once, checked)
    procfiles: processes.Procfiles  # parsed once: compile's log, launch.toml
    environ: dict[str, str]  # the platform's environment, read once
    env_dir: Path | None = None  # as the platform passed it (hooks get it as ENV_DIR)
    nltk_ids: tuple[str, ...] = ()  # what nltk.txt names


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


def _matching_entries(entries: list[RuntimeEntry], store: StoreLocation,
                      environ: dict[str, str]) -> list[RuntimeEntry]:
    stack, arch = platform_info.current_stack(environ), platform_info.current_arch()
    matching = [e for e in entries if e.stack == stack and e.arch == arch]
    if not matching:
        others = sorted({f"{e.stack}/{e.arch}" for e in entries}) or ["nothing"]
        raise BuildError(
            f"The runtime store has no Python for {stack}/{arch}",
            f"The runtime store at {store.display} holds runtimes for: {', '.join(others)}.\n"
            f"This build runs on stack {stack!r}, architecture {arch!r}.\n\n"
            "Add runtimes built on this stack to the store (bin/build-runtime-store), or\n"
            "point PYTHON_RUNTIME_STORE at a store that has them.",
            error_id="runtime-store::no-python-for-stack",
        )
    return matching


def _check_references(name: str, references: list[str], config: dict[str, str],
                      environ: dict[str, str]) -> None:
    """Warn about ``${NAME}`` in a requirements file that pip will not expand."""
    unset = [ref for ref in references if ref not in config and ref not in environ]
    blocked = [ref for ref in references if ref in config and ref not in INSTALLER_ALLOWLIST]
    if unset:
        output.warning(
            f"{name} names config vars that are not set: " + ", ".join(unset),
            "pip leaves ${NAME} as it is when NAME is not set, and the install then fails\n"
            "or fetches the wrong URL. Set them (heroku config:set NAME=...).")
    if blocked:
        output.warning(
            f"{name} names config vars the installer does not get: " + ", ".join(blocked),
            "Only config vars whose names end in _TOKEN, _PAT, _USERNAME, _USER or _PASSWORD\n"
            "are passed to pip for ${NAME} in requirements files (their values are masked in\n"
            "the log). Rename the config var, e.g. to GITHUB_TOKEN.")


def _check_includes(choice: installers.Choice, files: app_files.AppFiles,
                    config: dict[str, str], environ: dict[str, str]) -> None:
    """Refuse requirements that pip would choke on (includes from outside the app, links,
    special files and oversized files are refused as they are read)."""
    for path in choice.files:
        if path.suffix != ".txt":
            continue
        for included in included_files(files, path):
            text = files.text(included, "requirements") or ""
            check_text(included.name, text)
            _check_references(included.name, env_references(text), config, environ)


def _default_store() -> str:
    """The store bundled with an offline buildpack, else the platform default."""
    if (settings.BUNDLED_STORE / MANIFEST_NAME).is_file():
        output.step("Using the runtime store bundled with this buildpack (offline bundle)")
        return str(settings.BUNDLED_STORE)
    return settings.default_store_url()


def make_plan(build_dir: Path, cache_dir: Path, env_dir: Path | None, environ: dict[str, str],
              dev: bool = False) -> Plan:
    """Read and validate every input; log the version decision. ``environ``: the
    platform's environment, read once by the entry point (the build reads no other).
    ``dev``: a CI build (``bin/test-compile``), which installs the dev dependencies too."""
    config = read_env_dir(env_dir)
    # From here on, nothing secret reaches the log (output masks every line).
    redact.register(redact.secrets_of_config(config) + redact.url_secrets(environ.values()))
    settings_env = {**environ, **config}
    for setting in INDEX_URL_SETTINGS:  # a clear error now, not a traceback from pip later
        for url in index_urls({setting: settings_env.get(setting, "")}):
            check_url(url, setting)
    base = app_base.choose(build_dir, lookup(app_base.CONFIG_VAR, config, environ))
    app_dir = build_dir / base
    files = app_files.AppFiles(build_dir, app_dir)
    for name in app_files.WRITTEN_BY_BUILDPACK:
        app_files.check_writable(build_dir, name)
    guard_rails.check(build_dir, app_dir)
    procfiles = processes.read(files, base)  # a bad Procfile fails the push before any work
    for folder in {build_dir, build_dir / base}:
        processes.warn_line_endings(files, folder)
    if installers.needs_libraries(files):  # tomli before 3.11, packaging: from the index
        libraries.ensure(cache_dir, installer_settings(environ, config).get("PIP_INDEX_URL"))
    dependencies = installers.choose(files, dev, lookup(uv_pip.CONFIG_VAR, config, environ))
    _check_includes(dependencies, files, config, environ)
    store = parse_location(
        lookup("PYTHON_RUNTIME_STORE", config, environ) or _default_store(),
        parse_timeout(lookup("PYTHON_RUNTIME_STORE_TIMEOUT", config, environ)))
    entries = _matching_entries(read_manifest(store, cache_dir / "tmp"), store, environ)
    runtime = python_choice.choose_runtime(files, cache_dir, dependencies, entries)
    installers.check_python(dependencies, files, runtime.version)
    return Plan(build_dir, cache_dir, config, base, store, runtime, dependencies, files, procfiles,
                environ,
                env_dir=env_dir.resolve() if env_dir is not None else None,
                nltk_ids=tuple(nltk_data.read_ids(files)))


class SlugTarget:
    """Where ``bin/compile`` puts things (``build.Target``): see ``layout``."""

    def __init__(self, build_dir: Path, cache_dir: Path) -> None:
        self.build_dir, self.cache_dir = build_dir, cache_dir
        self.prefix = build_dir / PYTHON_DIR
        self.runtime_path = layout.RUNTIME_PREFIX

    def prepare(self, key: env_cache.CacheKey | None, updates: bool) -> str:
        if app_files.remove(self.build_dir, PYTHON_DIR):
            output.detail(f"Replacing the existing {PYTHON_DIR} in the app")
        app_files.make_dirs(self.build_dir, PYTHON_DIR.parent)  # .heroku: a real folder
        if key is None:
            return env_cache.FRESH
        state = env_cache.restore(self.cache_dir, key, self.prefix, updates=updates)
        if state == env_cache.REUSED:
            build.log_reuse(key, "Restored from the build cache", "using the cached environment")
        return state

    def keep(self, key: env_cache.CacheKey | None) -> None:
        if key is not None:
            env_cache.save(self.cache_dir, key, self.prefix)

    def finish(self, plan: Plan, ctx: installers.InstallContext) -> None:
        relocate.compile_app_bytecode(ctx.python, plan.build_dir, ctx.env)
        profile_d.write_profile(plan.build_dir, plan.app_base)
        export_file.write_export()
        app_base.record(plan.build_dir, plan.app_base)
        processes.log_discovery(plan.procfiles, plan.files, self.prefix)


def _cleanup(build_dir: Path, heroku_existed: bool, profile_existed: bool) -> None:
    """Remove what a failed build added to BUILD_DIR, so no half-built slug remains."""
    try:
        app_files.remove(build_dir, ".heroku" if not heroku_existed else PYTHON_DIR)
        if not profile_existed:
            app_files.remove(build_dir, f".profile.d/{layout.PROFILE_NAME}")
            os.rmdir(build_dir / ".profile.d")
    except (OSError, BuildError):
        pass  # something in the way that this build did not make: leave it


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
        env_cache.remove_stale_temp(cache_dir, managers.CACHE_FOLDERS)
        if dev:
            output.step("CI build (bin/test-compile): installing the dev and test dependencies too")
        plan = make_plan(build_dir, cache_dir, env_dir, dict(os.environ), dev)
        heroku_existed = (build_dir / ".heroku").exists()
        profile_existed = (build_dir / ".profile.d" / layout.PROFILE_NAME).exists()
        try:
            build.run(plan, SlugTarget(build_dir, cache_dir))
        except BaseException:
            _cleanup(build_dir, heroku_existed, profile_existed)
            raise
