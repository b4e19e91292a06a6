"""The build, once for both platform APIs: plan -> runtime -> dependencies -> the app's
build code -> run-time contract -> processes.

``run(plan, target)`` runs the steps; the target knows where things go, in the way
pypa/installer's ``install(source, destination)`` leaves the writing to a small
destination protocol:

- ``slug.target.SlugTarget`` (``bin/compile``): Python in ``BUILD_DIR/.heroku/python``, run
  from ``/app/.heroku/python``; the installed environment cached in CACHE_DIR; the
  run-time contract in ``.profile.d`` and ``export``;
- ``cnb.build.LayersTarget`` (``bin/build``): Python in the ``python`` layer, at the path
  it keeps at launch; brought up to date when the layer's metadata is the current cache
  key; the run-time contract in the ``python-env`` layer and ``launch.toml``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol

from buildpack import installers
from buildpack.app_build import django, hooks, nltk_data
from buildpack.base import children, hashing, output, redact, settings
from buildpack.base.envdir import lookup
from buildpack.cache import build_report, env_cache, layout
from buildpack.installers import pinned_tools, uv_pip, workspace_slug
from buildpack.installers import pip as pip_installer
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

    def prepare(self, key: env_cache.CacheKey) -> str:
        """Make ``prefix`` ready, as ``env_cache.decide`` found: UPDATE when the previous
        build's installed environment for ``key`` is in place, for the package manager to
        bring up to date (``Manager.update``), else FRESH (an empty place)."""

    def begin_keep(self, key: env_cache.CacheKey) -> None:
        """Begin keeping the installed environment for ``key`` for the next build (the
        slug: ``env_cache.begin_save``, beside the rest of the build, the package manager's
        run on the previous environment included)."""

    def watch(self, app_code: bool) -> None:
        """The app's build code runs next when ``app_code``: what it changes in the
        installed environment is not kept (its snapshot, ``env_cache.snapshot``)."""

    def keep(self, settled: bool) -> None:
        """Finish keeping it (``env_cache.Saving.finish``); ``settled``: ``begin_keep`` came
        after everything the buildpack writes into it."""

    def abandon(self) -> None:
        """The build failed after ``begin_keep``: keep nothing."""

    def finish(self, plan: Plan, ctx: installers.InstallContext) -> None:
        """The app's bytecode, the run-time contract and the process types."""


def cache_key(plan: Plan) -> env_cache.CacheKey:
    """The installed environment's cache key: what it depends on besides the
    dependencies, which the package manager checks on each build."""
    choice = plan.dependencies
    return env_cache.CacheKey(
        format=env_cache.FORMAT_VERSION,
        python_version=plan.runtime.label,
        runtime_sha256=plan.runtime.sha256,
        stack=plan.runtime.stack,
        arch=plan.runtime.arch,
        manager=choice.manager.name + ("+dev" if choice.dev else ""),
        manager_version=choice.manager.installer_version(),
        settings_sha256=hashing.hash_settings(installer_settings(plan.environ, plan.config)),
    )


def install_context(plan: Plan, prefix: Path, slug_root: Path | None
                    ) -> tuple[installers.InstallContext, dict[str, str]]:
    """The installers' context, and the environment of the app's own build code (hooks,
    collectstatic)."""
    env = build_env(plan.environ, plan.config, prefix / "bin", plan.cache_dir)
    ctx = installers.InstallContext(plan.build_dir / plan.app_base, prefix,
                                    prefix / "bin" / "python3", env, plan.cache_dir,
                                    redact.secrets_of_config(plan.config),
                                    plan.runtime.version, plan.files, slug_root,
                                    plan.runtime.variant)
    return ctx, hooks.app_env(env, plan.config, plan.build_dir, plan.cache_dir, plan.env_dir,
                              plan.runtime.stack)


def install_fresh(plan: Plan, ctx: installers.InstallContext) -> None:
    """Provision the runtime and pip, then the dependencies.

    uv is fetched while the runtime unpacks when it installs the packages, and for a fresh
    runtime of Pipenv, Poetry and PDM apps (not kept for them: ``installers.trim_caches``):
    uv installs pip, and the tool, in a fraction of pip's time (for requirements.txt and
    pylock.toml, ``uv_pip.install_requirements`` installs pip, with the dependencies when it
    can). Otherwise (or when uv could not be fetched for those) pip installs itself, from
    its wheel fetched meanwhile."""
    manager = plan.dependencies.manager
    kept_pip = ctx.cache_dir / layout.PIP_WHEELS
    bootstrap = manager.tool is not None and manager.tool.module is not None
    if manager.installs_pip or bootstrap:
        # uv pip (not uv.lock): the requirements resolved into uv's cache meanwhile too
        warm_up = plan.dependencies.files[0] if manager.engine == "uv" else None
        fetching = uv_pip.prefetching(ctx, warm_up)
    else:
        fetching = pip_installer.prefetching_wheel(ctx.env, kept_pip)
    with fetching:
        env_cache.provide_runtime(plan.cache_dir, plan.runtime.sha256, ctx.prefix, lambda: provision(
            plan.store, plan.runtime, plan.cache_dir, ctx.prefix))
    uv = uv_pip.ensure_uv(ctx, ctx.secrets) if manager.installs_pip \
        else uv_pip.prefetched_uv(ctx) if bootstrap else None
    if uv is not None:
        if manager.install is not uv_pip.install:  # else in its dependencies' run, when it can
            uv_pip.install_pip(ctx, uv, ctx.secrets)
        if bootstrap:
            pinned_tools.use_installer(ctx, uv_pip.tool_installer(ctx, uv, ctx.secrets))
    else:
        pip_installer.install_pip(ctx.python, ctx.prefix, ctx.env, plan.build_dir, ctx.secrets,
                                  kept_pip)
    relocate.rewrite_console_scripts(ctx.prefix / "bin", ctx.prefix)
    installers.install(plan.dependencies, ctx)


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
    output.step(f"Preparing Python runtime (python-{plan.runtime.label})")
    manager = plan.dependencies.manager
    build_report.note(python_version=plan.runtime.label, package_manager=manager.name,
                      package_manager_version=manager.tool.version() if manager.tool
                      else settings.pinned_pip_version(),
                      **({"engine": manager.engine} if manager.engine else {}))
    key = cache_key(plan)
    state = target.prepare(key)
    build_report.cache_decision("installed_environment", state)
    # The save links the environment beside the rest of the build: the previous one from
    # before the package manager runs against it (what it changes, the save's finish
    # brings up to date), a fresh one once installed. NLTK's downloader refuses a data
    # file with a second link (the save's): with nltk.txt, the save begins once it ran.
    keep_from = "nltk" if plan.nltk_ids else "start" if state == env_cache.UPDATE else "install"
    pruning: children.Background | None = None
    try:
        if keep_from == "start":
            target.begin_keep(key)
        if state == env_cache.UPDATE:
            changed = installers.install(plan.dependencies, ctx, incremental=True)
        else:
            install_fresh(plan, ctx)
            changed = True
        if keep_from == "install":
            target.begin_keep(key)
        # uv's lock on its cache guards its prune against a uv the app's build code may run
        pruning = children.Background(installers.prune_uv_cache, ctx)
        if changed:  # else: the previous build's environment, relocatable and compiled as saved
            make_relocatable(ctx, target.runtime_path)
        nltk_data.download(list(plan.nltk_ids), ctx.python, app_env, ctx.secrets, ctx.app_dir,
                           lookup(nltk_data.URL_VAR, plan.config, plan.environ),
                           target.runtime_path)
        if keep_from == "nltk":
            target.begin_keep(key)
        # What the app's build code must not change (``env_cache.Saving.finish``); when it
        # has none (no post_compile hook, not a Django app), nothing runs to change it.
        target.watch(hooks.present(hooks.POST_COMPILE, ctx.app_dir)
                     or django.django_manage_py(ctx.app_dir, ctx.prefix) is not None)
        django.collectstatic(ctx.app_dir, plan.build_dir, ctx.python, app_env, ctx.secrets,
                             lookup(django.DISABLE_VAR, plan.config, plan.environ))
        hooks.run_hook(hooks.POST_COMPILE, ctx.app_dir, plan.build_dir, app_env, ctx.secrets)
        procfiles = plan.procfiles
        workspace_slug.leave_out(plan.dependencies, plan.files, target.prefix,
                                 [*(procfiles.root or {}).values(),
                                  *(procfiles.in_app or {}).values()])
        target.finish(plan, ctx)
        pruning.wait()  # before the save may clear uv's cache
        output.step("Saving the build cache")  # its own step: the build report times it
        target.keep(settled=keep_from == "nltk")
    except BaseException:
        target.abandon()
        if pruning is not None:
            with contextlib.suppress(BaseException):
                pruning.wait()
        raise
    installers.trim_caches(ctx, plan.dependencies.manager)
    return ctx

