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
from dataclasses import dataclass
from pathlib import Path

from buildpack import (app_base, app_files, django, env_cache, export_file, guard_rails, hooks,
                       installers, nltk_data, output, platform_info, processes, profile_d,
                       python_choice, redact, relocate, settings)
from buildpack.installers import pip as pip_installer
from buildpack.installers import uv_pip
from buildpack.envdir import lookup, read_env_dir
from buildpack.manifest import MANIFEST_NAME, RuntimeEntry
from buildpack.output import BuildError
from buildpack.runtime import provision
from buildpack.installers.failures import INDEX_URL_SETTINGS, index_urls
from buildpack.store import StoreLocation, check_url, parse_location, parse_timeout, read_manifest
from buildpack.requirements_files import check_text, env_references, included_files
from buildpack.subprocess_env import INSTALLER_ALLOWLIST, build_env

PYTHON_DIR = Path(".heroku") / "python"
VENDOR_TOOLS = settings.VENDOR_DIR / "tools"


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
    # Where Python is installed, and the path it will have at run time (the CNB build
    # uses a layer for both; the classic build uses BUILD_DIR/.heroku/python -> /app/...).
    python_home: Path | None = None
    runtime_path: str = relocate.RUNTIME_PREFIX
    env_dir: Path | None = None  # as the platform passed it (hooks get it as ENV_DIR)
    nltk_ids: tuple[str, ...] = ()  # what nltk.txt names

    @property
    def prefix(self) -> Path:
        return self.python_home or self.build_dir / PYTHON_DIR


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


def _matching_entries(entries: list[RuntimeEntry], store: StoreLocation) -> list[RuntimeEntry]:
    stack, arch = platform_info.current_stack(), platform_info.current_arch()
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


def _check_references(name: str, references: list[str], config: dict[str, str]) -> None:
    """Warn about ``${NAME}`` in a requirements file that pip will not expand."""
    unset = [ref for ref in references if ref not in config and ref not in os.environ]
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
                    config: dict[str, str]) -> None:
    """Refuse requirements that pip would choke on (includes from outside the app, links,
    special files and oversized files are refused as they are read)."""
    for path in choice.files:
        if path.suffix != ".txt":
            continue
        for included in included_files(files, path):
            text = files.text(included, "requirements") or ""
            check_text(included.name, text)
            _check_references(included.name, env_references(text), config)


def _default_store() -> str:
    """The store bundled with an offline buildpack, else the platform default."""
    if (settings.BUNDLED_STORE / MANIFEST_NAME).is_file():
        output.step("Using the runtime store bundled with this buildpack (offline bundle)")
        return str(settings.BUNDLED_STORE)
    return settings.default_store_url()


def make_plan(build_dir: Path, cache_dir: Path, env_dir: Path | None, dev: bool = False) -> Plan:
    """Read and validate every input; log the version decision. ``dev``: a CI build
    (``bin/test-compile``), which installs the dev dependencies too."""
    config = read_env_dir(env_dir)
    environ = dict(os.environ)
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
    processes.read(files, base)  # a bad Procfile fails the push before any work is done
    for folder in {build_dir, build_dir / base}:
        processes.warn_line_endings(files, folder)
    dependencies = installers.choose(files, dev, lookup(uv_pip.CONFIG_VAR, config, environ))
    _check_includes(dependencies, files, config)
    store = parse_location(
        lookup("PYTHON_RUNTIME_STORE", config, environ) or _default_store(),
        parse_timeout(lookup("PYTHON_RUNTIME_STORE_TIMEOUT", config, environ)))
    entries = _matching_entries(read_manifest(store, cache_dir / "tmp"), store)
    runtime = python_choice.choose_runtime(files, cache_dir, dependencies, entries)
    installers.check_python(dependencies, runtime.version)
    return Plan(build_dir, cache_dir, config, base, store, runtime, dependencies, files,
                env_dir=env_dir.resolve() if env_dir is not None else None,
                nltk_ids=tuple(nltk_data.read_ids(files)))


def cache_key(plan: Plan) -> env_cache.CacheKey | None:
    """The installed environment's cache key; None when it cannot be cached."""
    choice = plan.dependencies
    files: list[Path] = []
    for path in choice.files:
        files.extend(included_files(plan.files, path) if path.suffix == ".txt" else [path])
    if choice.installs_local_code:
        output.detail("The installed environment is not cached (downloaded wheels still are):\n"
                      "its files do not pin everything it installs. From "
                      + "; ".join(choice.uncached[:3]) + ".")
        return None
    tools = VENDOR_TOOLS / f"{'uv' if choice.engine == 'uv' else choice.manager}.txt"
    engine = " with uv" if choice.engine == "uv" else ""  # the engine changes the install
    manager_version = settings.pinned_pip_version() + engine + (
        ":" + env_cache.hash_files([tools], VENDOR_TOOLS) if tools.is_file() else "")
    installer_settings = {k: v for k, v in build_env(dict(os.environ), plan.config, Path("/"),
                                                     Path("/")).items()
                          if k in INSTALLER_ALLOWLIST}
    return env_cache.CacheKey(
        format=env_cache.FORMAT_VERSION,
        python_version=plan.runtime.version,
        runtime_sha256=plan.runtime.sha256,
        stack=plan.runtime.stack,
        arch=plan.runtime.arch,
        manager=choice.manager + ("+dev" if choice.dev else ""),
        manager_version=manager_version,
        dependency_files=tuple(str(p.relative_to(plan.build_dir)) for p in files),
        dependencies_sha256=env_cache.hash_files(files, plan.build_dir),
        settings_sha256=env_cache.hash_settings(installer_settings),
    )


def make_relocatable(ctx: installers.InstallContext, runtime_path: str) -> None:
    """Console scripts and bytecode that do not depend on the build path."""
    relocate.rewrite_console_scripts(ctx.prefix / "bin", ctx.prefix)
    site_packages = sorted(ctx.prefix.glob("lib/python3*/site-packages"))
    relocate.compile_bytecode(ctx.python, site_packages, ctx.prefix, ctx.env, runtime_path)


def base_key(plan: Plan) -> env_cache.CacheKey:
    """Key of the base layer: the runtime with the pinned pip installed."""
    return env_cache.CacheKey(env_cache.FORMAT_VERSION, plan.runtime.version, plan.runtime.sha256,
                              plan.runtime.stack, plan.runtime.arch, "pip",
                              settings.pinned_pip_version(), (), "", "")


def install_fresh(plan: Plan, ctx: installers.InstallContext) -> None:
    """Provision the runtime and pip (or reuse that base layer), then the dependencies."""
    base = base_key(plan)
    if env_cache.restore(plan.cache_dir, base, ctx.prefix, env_cache.BASE_DIR_NAME, quiet=True):
        output.detail(f"Using the cached python-{plan.runtime.version} with pip "
                      f"{settings.pinned_pip_version()}")
    else:
        if plan.dependencies.engine == "uv":  # uv: fetched while the runtime is unpacked
            with uv_pip.prefetching(ctx):
                provision(plan.store, plan.runtime, plan.cache_dir, ctx.prefix)
            # uv installs pip in a fraction of pip's own time
            uv_pip.install_pip(ctx, uv_pip.ensure_uv(ctx, ctx.secrets), ctx.secrets)
        else:
            provision(plan.store, plan.runtime, plan.cache_dir, ctx.prefix)
            pip_installer.install_pip(ctx.python, ctx.prefix, ctx.env, plan.build_dir,
                                      ctx.secrets)
        relocate.rewrite_console_scripts(ctx.prefix / "bin", ctx.prefix)
        env_cache.save(plan.cache_dir, base, ctx.prefix, env_cache.BASE_DIR_NAME)
    installers.install(plan.dependencies, ctx)
    make_relocatable(ctx, plan.runtime_path)


def install_context(plan: Plan) -> tuple[installers.InstallContext, dict[str, str]]:
    """The installers' context, and the environment of the app's own build code (hooks,
    collectstatic)."""
    prefix = plan.prefix
    env = build_env(dict(os.environ), plan.config, prefix / "bin", plan.cache_dir)
    ctx = installers.InstallContext(plan.build_dir / plan.app_base, prefix,
                                    prefix / "bin" / "python3", env, plan.cache_dir,
                                    redact.secrets_of_config(plan.config),
                                    settings.pinned_pip_version(), plan.files)
    return ctx, hooks.app_env(env, plan.config, plan.build_dir, plan.cache_dir, plan.env_dir,
                              plan.runtime.stack)


def log_reuse(key: env_cache.CacheKey, source: str, what: str) -> None:
    """Say that the installed environment was reused instead of installed."""
    output.detail(f"{source}, with the app's dependencies")
    output.step("Installing dependencies")
    files = ", ".join(key.dependency_files) or "no dependency files"
    output.detail(f"Unchanged since the last build ({files}): {what}.")


def execute(plan: Plan) -> None:
    prefix = plan.prefix
    ctx, app_env = install_context(plan)
    env, app_dir = ctx.env, ctx.app_dir
    hooks.run_hook(hooks.PRE_COMPILE, app_dir, plan.build_dir, app_env, ctx.secrets)
    output.step(f"Preparing Python runtime (python-{plan.runtime.version})")
    root, rel = (plan.build_dir, PYTHON_DIR) if plan.python_home is None else (prefix.parent,
                                                                              prefix.name)
    if app_files.remove(root, rel):
        output.detail(f"Replacing the existing {PYTHON_DIR} in the app")
    if plan.python_home is None:
        app_files.make_dirs(plan.build_dir, PYTHON_DIR.parent)  # .heroku: a real folder
    key = cache_key(plan)
    updatable = (key is not None and plan.dependencies.engine == "uv"
                 and env_cache.previous_key_differs_only_in(plan.cache_dir, key,
                                                             env_cache.DEPENDENCY_FIELDS))
    accept = env_cache.DEPENDENCY_FIELDS if updatable else frozenset()
    if key is not None and env_cache.restore(plan.cache_dir, key, prefix, accept=accept):
        if updatable:  # the previous environment, brought up to date
            installers.install(plan.dependencies, ctx, incremental=True)
            make_relocatable(ctx, plan.runtime_path)
            env_cache.save(plan.cache_dir, key, prefix)
        else:
            log_reuse(key, "Restored from the build cache", "using the cached environment")
    else:
        install_fresh(plan, ctx)
        if key is not None:
            env_cache.save(plan.cache_dir, key, prefix)
    nltk_data.download(list(plan.nltk_ids), ctx.python, app_env, ctx.secrets, app_dir,
                       lookup(nltk_data.URL_VAR, plan.config, dict(os.environ)))
    django.collectstatic(app_dir, plan.build_dir, ctx.python, app_env, ctx.secrets,
                         lookup(django.DISABLE_VAR, plan.config, dict(os.environ)))
    hooks.run_hook(hooks.POST_COMPILE, app_dir, plan.build_dir, app_env, ctx.secrets)
    relocate.compile_app_bytecode(ctx.python, plan.build_dir, env)
    profile_d.write_profile(plan.build_dir, plan.app_base)
    export_file.write_export()
    app_base.record(plan.build_dir, plan.app_base)
    processes.log_discovery(plan.files, plan.app_base, prefix)


def _cleanup(build_dir: Path, heroku_existed: bool, profile_existed: bool) -> None:
    """Remove what a failed build added to BUILD_DIR, so no half-built slug remains."""
    try:
        app_files.remove(build_dir, ".heroku" if not heroku_existed else PYTHON_DIR)
        if not profile_existed:
            app_files.remove(build_dir, f".profile.d/{profile_d.PROFILE_NAME}")
            os.rmdir(build_dir / ".profile.d")
    except (OSError, BuildError):
        pass  # something in the way that this build did not make: leave it


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str], dev: bool = False) -> int:
    build_dir, cache_dir, env_dir = _parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with env_cache.locked(cache_dir):
        env_cache.remove_stale_temp(cache_dir)
        if dev:
            output.step("CI build (bin/test-compile): installing the dev and test dependencies too")
        plan = make_plan(build_dir, cache_dir, env_dir, dev)
        heroku_existed = (build_dir / ".heroku").exists()
        profile_existed = (build_dir / ".profile.d" / profile_d.PROFILE_NAME).exists()
        try:
            execute(plan)
        except BaseException:
            _cleanup(build_dir, heroku_existed, profile_existed)
            raise
    return 0
