"""The build, once for both platform APIs: plan -> runtime -> dependencies -> the app's
build code -> run-time contract -> processes.

``run(plan, target)`` runs the steps; the target knows where things go, in the way
pypa/installer's ``install(source, destination)`` leaves the writing to a small
destination protocol:

- ``slug.target.SlugTarget`` (``bin/compile``): Python in ``BUILD_DIR/.heroku/python``, run
  from ``/app/.heroku/python``; the installed environment cached in CACHE_DIR; the
  run-time contract in ``.profile.d`` and ``export``;
- ``cnb.build.LayersTarget`` (``bin/build``): Python in the ``python`` layer, at the path
  it keeps at launch; reused when the layer's metadata is the current cache key; the
  run-time contract in the ``python-env`` layer and ``launch.toml``.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from buildpack import installers
from buildpack.app.requirements_files import included_files
from buildpack.app_build import django, hooks, nltk_data
from buildpack.base import children, hashing, output, redact, settings
from buildpack.base.envdir import lookup
from buildpack.cache import build_report, env_cache
from buildpack.installers import pip as pip_installer
from buildpack.installers import uv_pip
from buildpack.installers.subprocess_env import build_env, installer_settings
from buildpack.plan import python_choice
from buildpack.plan.plan import Plan
from buildpack.runtime import relocate
from buildpack.runtime.install import provision


class Target(Protocol):
    """Where a build puts Python, how it keeps the installed environment, and how it
    writes the run-time contract."""

    prefix: Path  # where Python is installed during the build
    runtime_path: str  # the path it has when the app runs
    # The folder the app runs from under another path, whose build path the install must
    # not leave behind (a slug's BUILD_DIR, run as /app); None when the build's paths are
    # the launch paths (CNB). Not derived from ``prefix``: that would assume the slug layout.
    slug_root: Path | None

    def prepare(self, key: env_cache.CacheKey | None, updates: bool) -> str:
        """Make ``prefix`` ready, as ``env_cache.decide`` found: REUSED when the previous
        build's installed environment for ``key`` is in place (and say so), UPDATE when it
        is there to be brought up to date (``updates``: the package manager's record can,
        ``Manager.update``), else FRESH (an empty place)."""

    def keep(self, key: env_cache.CacheKey | None) -> None:
        """Keep the freshly installed environment for the next build (``None``: uncachable)."""

    def finish(self, plan: Plan, ctx: installers.InstallContext) -> None:
        """The app's bytecode, the run-time contract and the process types."""


def cache_key(plan: Plan) -> env_cache.CacheKey | None:
    """The installed environment's cache key; None when it cannot be cached."""
    choice = plan.dependencies
    files: list[Path] = []
    for path in choice.files:
        files.extend(included_files(plan.files, path) if path.suffix == ".txt" else [path])
    files.extend(choice.selection.files)  # a requirements.txt app's [dependency-groups]
    if choice.installs_local_code:
        output.detail("The installed environment is not cached (downloaded wheels still are):\n"
                      "its files do not pin everything it installs. From "
                      + "; ".join(choice.uncached[:3]) + ".")
        return None
    return env_cache.CacheKey(
        format=env_cache.FORMAT_VERSION,
        python_version=plan.runtime.version,
        runtime_sha256=plan.runtime.sha256,
        stack=plan.runtime.stack,
        arch=plan.runtime.arch,
        manager=choice.manager.name + ("+dev" if choice.dev else ""),
        manager_version=choice.manager.installer_version(),
        dependency_files=tuple(str(p.relative_to(plan.build_dir)) for p in files),
        dependencies_sha256=hashing.hash_files(files, plan.build_dir),
        settings_sha256=hashing.hash_settings(installer_settings(plan.environ, plan.config)),
        selection=choice.selection.key(),
    )


def base_key(plan: Plan) -> env_cache.CacheKey:
    """Key of the base layer: the runtime with the pinned pip installed."""
    return env_cache.CacheKey(env_cache.FORMAT_VERSION, plan.runtime.version, plan.runtime.sha256,
                              plan.runtime.stack, plan.runtime.arch, "pip",
                              settings.pinned_pip_version(), (), "", "")


def install_context(plan: Plan, prefix: Path, slug_root: Path | None
                    ) -> tuple[installers.InstallContext, dict[str, str]]:
    """The installers' context, and the environment of the app's own build code (hooks,
    collectstatic)."""
    env = build_env(plan.environ, plan.config, prefix / "bin", plan.cache_dir)
    ctx = installers.InstallContext(plan.build_dir / plan.app_base, prefix,
                                    prefix / "bin" / "python3", env, plan.cache_dir,
                                    redact.secrets_of_config(plan.config),
                                    plan.runtime.version, plan.files, slug_root)
    return ctx, hooks.app_env(env, plan.config, plan.build_dir, plan.cache_dir, plan.env_dir,
                              plan.runtime.stack)


def log_reuse(key: env_cache.CacheKey, source: str, what: str) -> None:
    """Say that the installed environment was reused instead of installed."""
    output.detail(f"{source}, with the app's dependencies")
    output.step("Installing dependencies")
    files = ", ".join(key.dependency_files) or "no dependency files"
    output.detail(f"Unchanged since the last build ({files}): {what}.")


def install_fresh(plan: Plan, ctx: installers.InstallContext, runtime_path: str) -> None:
    """Provision the runtime and pip (or reuse that base layer), then the dependencies;
    the result made independent of the build path."""
    base = base_key(plan)
    cached = env_cache.restore(plan.cache_dir, base, ctx.prefix, env_cache.BASE_DIR_NAME,
                               quiet=True) == env_cache.REUSED
    build_report.cache_decision("runtime_and_pip", "reused" if cached else "installed")
    uv = plan.dependencies.manager.installs_pip
    saving: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if cached:
        output.detail(f"Using the cached python-{plan.runtime.version} with pip "
                      f"{settings.pinned_pip_version()}")
    else:
        # uv: fetched, and the requirements resolved into its cache, meanwhile
        with (uv_pip.prefetching(ctx, plan.dependencies.files[0]) if uv
              else contextlib.nullcontext()):
            provision(plan.store, plan.runtime, plan.cache_dir, ctx.prefix)
        if uv:  # uv installs pip in a fraction of pip's own time
            uv_pip.install_pip(ctx, uv_pip.ensure_uv(ctx, ctx.secrets), ctx.secrets)
        else:
            pip_installer.install_pip(ctx.python, ctx.prefix, ctx.env, plan.build_dir, ctx.secrets)
        relocate.rewrite_console_scripts(ctx.prefix / "bin", ctx.prefix)
        if uv and not any(uv_pip.names_pip(plan.files, path) for path in plan.dependencies.files):
            saving = saving_base(plan, base, ctx, runtime_path)  # while uv installs
        else:  # pip, or dependencies that change pip: the base entry first
            env_cache.save(plan.cache_dir, base, ctx.prefix, env_cache.BASE_DIR_NAME)
    with saving:
        installers.install(plan.dependencies, ctx)
    make_relocatable(ctx, runtime_path)


@contextlib.contextmanager
def saving_base(plan: Plan, base: env_cache.CacheKey, ctx: installers.InstallContext,
                runtime_path: str) -> Iterator[None]:
    """Compile pip's bytecode and save the base entry (the runtime with pip) in a thread
    while the body installs the dependencies with uv: both are off the critical path,
    and the base entry keeps pip's bytecode.

    The body writes into the same prefix, so the entry is made from a manifest taken
    before it starts (plus the bytecode the thread compiles for pip's files in it), and
    each file is checked against that manifest as it is copied (``env_cache.save``): the
    entry is the runtime with pip as they were before the install, or nothing (a file
    the install replaced or removed; the build goes on, and a later one saves it). The
    thread is joined before anything else runs (the app's build code, the environment's
    own save), even when the body fails."""
    before = env_cache.snapshot(ctx.prefix)
    failed: list[BaseException] = []

    def work() -> None:
        try:
            pip_dirs = sorted(ctx.prefix.glob("lib/python3*/site-packages/pip"))
            relocate.compile_bytecode(ctx.python, pip_dirs, ctx.prefix, ctx.env, runtime_path)
            files = dict(before)
            for folder in pip_dirs:
                rel = folder.relative_to(ctx.prefix)
                for name, record in env_cache.snapshot(folder).items():  # parents first
                    path = str(rel / name)
                    if "__pycache__" in name.split("/") and path.rsplit("/", 1)[0] in files:
                        files[path] = record
            env_cache.save(plan.cache_dir, base, ctx.prefix, env_cache.BASE_DIR_NAME, files)
        except BaseException as exc:  # noqa: BLE001 - raised again in the build's thread
            failed.append(exc)

    thread = threading.Thread(target=work, name="save-base", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed and isinstance(failed[0], (env_cache.Changed, FileNotFoundError)):
        output.detail("The runtime with pip was not cached: the install changed its files.")
    elif failed:
        raise failed[0]


def make_relocatable(ctx: installers.InstallContext, runtime_path: str) -> None:
    """Console scripts and bytecode that do not depend on the build path."""
    relocate.rewrite_console_scripts(ctx.prefix / "bin", ctx.prefix)
    site_packages = sorted(ctx.prefix.glob("lib/python3*/site-packages"))
    relocate.compile_bytecode(ctx.python, site_packages, ctx.prefix, ctx.env, runtime_path)


def run(plan: Plan, target: Target) -> installers.InstallContext:
    """The build's steps, into ``target``."""
    children.use_environment(plan.environ)  # their deadline: BUILDPACK_STEP_TIMEOUT
    python_choice.keep_record(plan.cache_dir, plan.python_record)  # decided while planning
    ctx, app_env = install_context(plan, target.prefix, target.slug_root)
    hooks.run_hook(hooks.PRE_COMPILE, ctx.app_dir, plan.build_dir, app_env, ctx.secrets)
    output.step(f"Preparing Python runtime (python-{plan.runtime.version})")
    manager = plan.dependencies.manager
    build_report.note(python_version=plan.runtime.version, package_manager=manager.name,
                      package_manager_version=manager.tool.version() if manager.tool
                      else settings.pinned_pip_version(),
                      **({"engine": manager.engine} if manager.engine else {}))
    key = cache_key(plan)
    state = target.prepare(key, manager.update is not None)
    build_report.cache_decision("installed_environment", state if key is not None else "not cacheable")
    if state == env_cache.UPDATE:
        installers.install(plan.dependencies, ctx, incremental=True)
        make_relocatable(ctx, target.runtime_path)
        target.keep(key)
    elif state == env_cache.FRESH:
        install_fresh(plan, ctx, target.runtime_path)
        target.keep(key)
    nltk_data.download(list(plan.nltk_ids), ctx.python, app_env, ctx.secrets, ctx.app_dir,
                       lookup(nltk_data.URL_VAR, plan.config, plan.environ), target.runtime_path)
    django.collectstatic(ctx.app_dir, plan.build_dir, ctx.python, app_env, ctx.secrets,
                         lookup(django.DISABLE_VAR, plan.config, plan.environ))
    hooks.run_hook(hooks.POST_COMPILE, ctx.app_dir, plan.build_dir, app_env, ctx.secrets)
    target.finish(plan, ctx)
    return ctx

