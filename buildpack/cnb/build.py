"""``bin/build``: the classic compile's steps, into CNB layers (see ``buildpack.cnb``).

The plan is the classic one (``plan.make_plan``: the app dir is the working
directory, the config vars are ``<platform>/env``, CACHE_DIR is the ``cache`` layer),
with Python in the ``python`` layer, at the path it keeps at launch. Then ``steps.run``
with the layers as its target, the same steps as for a slug: the ``pre_compile`` hook; the installed environment
(reused when the layer's metadata is the current cache key; when only the dependencies
changed and the record can ``update``, brought up to date in place, as classic does with
its restored environment; else built afresh, the runtime and pip coming from the cache
layer); collectstatic; the ``post_compile`` hook; the app's bytecode; the process types. What a
slug carries in ``.profile.d`` and ``.release`` goes to the ``python-env`` layer and
``launch.toml``; the SBOM is written beside the python layer.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from buildpack import installers, steps
from buildpack.app import processes
from buildpack.app.app_files import AppFiles
from buildpack.app_build import sbom
from buildpack.base import libraries, output
from buildpack.base.numbers import NumberError, parse_int
from buildpack.base.output import BuildError
from buildpack.cache import env_cache
from buildpack.cnb import launch, launch_env
from buildpack.cnb.context import BuildArgs, plan_environ
from buildpack.cnb.layers import Layers, LayerTypes
from buildpack.installers.subprocess_env import installer_settings
from buildpack.plan.plan import Plan, make_plan, prepare, read_inputs
from buildpack.runtime import relocate

PYTHON_LAYER = "python"
CACHE_LAYER = "cache"
_INT_FIELDS = {f.name for f in dataclasses.fields(env_cache.CacheKey) if f.type in ("int", int)}


def key_metadata(key: env_cache.CacheKey) -> dict[str, Any]:
    """The python layer's ``[metadata]``: the cache key, all strings (see ``layers``)."""
    return {name: str(value) for name, value in dataclasses.asdict(key).items()}


def _previous_key(metadata: dict[str, Any]) -> dict[str, Any]:
    """The cache key fields of a restored ``[metadata]`` (numbers back to integers)."""
    fields: dict[str, Any] = dict(metadata)
    for name in _INT_FIELDS & set(fields):
        value = fields[name]
        try:
            fields[name] = value if isinstance(value, int) else parse_int(str(value), max_digits=18)
        except NumberError:
            pass  # then it differs from the current key, which says so
    return fields


def _previous_state(layers: Layers, key: env_cache.CacheKey) -> str:
    """``env_cache.decide`` for the previous build's python layer, which must have come
    back from the build cache to be brought up to date."""
    previous = layers.metadata(PYTHON_LAYER)
    state = env_cache.decide(None if previous is None else _previous_key(previous), key)
    if state != env_cache.FRESH and not (layers.path(PYTHON_LAYER) / "bin" / "python3").is_file():
        output.detail("The previous build's python layer is not in the build cache.")
        return env_cache.FRESH
    return state


class LayersTarget:
    """Where ``bin/build`` puts things (``steps.Target``): Python in the python layer, at
    the path it keeps at launch; what a slug has in ``.profile.d`` and ``.release`` in
    the python-env layer and ``launch.toml``."""

    def __init__(self, layers: Layers) -> None:
        self.layers = layers
        self.prefix = layers.path(PYTHON_LAYER)
        self.runtime_path = str(self.prefix)
        self.slug_root: Path | None = None  # the layers and the app keep their paths at launch
        self.key: env_cache.CacheKey | None = None
        self.before: dict[str, list[Any]] | None = None  # the app's build code runs: watch

    def prepare(self, key: env_cache.CacheKey) -> str:
        self.key = key
        state = _previous_state(self.layers, key)
        if state == env_cache.UPDATE:
            # Brought up to date in place (the layer is restored as cache = true); until
            # finish writes the new key, the layer has no metadata: a build that fails or
            # is killed leaves nothing that claims either key.
            output.detail(f"The {PYTHON_LAYER} layer of the previous build: the package manager\n"
                          "installs what changed and removes what is no longer needed.")
            self.layers.forget(PYTHON_LAYER)
        else:
            self.layers.remove(PYTHON_LAYER)
            self.layers.forget(PYTHON_LAYER)
        return state

    def begin_keep(self, key: env_cache.CacheKey) -> None:
        """Nothing to link: the layer is kept where it is."""

    def watch(self, app_code: bool) -> None:
        self.before = env_cache.snapshot(self.prefix, inodes=True) if app_code else None

    def keep(self, settled: bool) -> None:
        """The layer is kept (cache = true, written by ``finish``) unless the app's build
        code changed what the installer wrote (``env_cache.Saving``): then it is launched
        but not cached, and uv's cache (which shares its files) is cleared."""
        if self.before is None or self.key is None:
            return
        changed = env_cache.changed_by(self.before, env_cache.snapshot(self.prefix, inodes=True))
        if changed:
            env_cache.not_cached_warning(changed)
            self.layers.write(PYTHON_LAYER, LayerTypes(launch=True, build=True, cache=False),
                              key_metadata(self.key))
            env_cache.clear_shared(self.layers.path(CACHE_LAYER))

    def abandon(self) -> None:
        """Nothing to undo: a failed build exports no layer."""

    def finish(self, plan: Plan, ctx: installers.InstallContext) -> None:
        _require_libraries(ctx)
        self.layers.write(CACHE_LAYER, LayerTypes(cache=True))
        if self.key is not None:
            self.layers.write(PYTHON_LAYER, LayerTypes(launch=True, build=True, cache=True),
                              key_metadata(self.key))
        # The app stays where it was built: its bytecode names its own paths.
        relocate.compile_app_bytecode(ctx.python, plan.build_dir, ctx.env, str(plan.build_dir))
        output.step("Writing the launch environment and the SBOM")
        values = launch_env.write(self.layers, ctx.app_dir)
        output.detail(f"{', '.join(f'{k}={v}' for k, v in values.items())} (each unless set),\n"
                      "WEB_CONCURRENCY from the container's memory and CPUs")
        listed = sbom.write([self.layers.root / f"{PYTHON_LAYER}.{sbom.EXTENSION}"], plan.runtime,
                            ctx.python, sbom.lock_hashes(plan.files, plan.dependencies.files))
        output.detail(f"{PYTHON_LAYER}.{sbom.EXTENSION}: python-{plan.runtime.label} and "
                      f"{len(listed)} installed distributions")
        processes.log_discovery(plan.procfiles, plan.files, self.prefix)
        # launch.toml is CNB's bin/release: like it, it reads the Procfiles as the build
        # left them (a post_compile hook may write one), with a fresh reader.
        built = AppFiles(plan.build_dir)
        launch.write(self.layers.root,
                     processes.release_types(processes.read(built, plan.procfiles.base), built, self.prefix),
                     ctx.app_dir if plan.app_base else None)


def _require_libraries(ctx: installers.InstallContext) -> None:
    """The layer TOML files and ``launch.toml`` are written with tomli-w: with no bundled,
    cached or index-served copy (``run``), the runtime's pip downloads it."""
    problem = None if libraries.ready() else libraries.download_with_pip(ctx.python, ctx.env,
                                                                         ctx.cache_dir)
    if problem is not None:
        raise BuildError(
            "Could not download the buildpack's libraries",
            "The CNB layer files are written with the libraries pinned in\n"
            f"vendor/libraries.txt, and they could not be downloaded:\n{problem}\n\n"
            "The package index of this build (PIP_INDEX_URL, else the default index)\n"
            "must serve those exact files.",
            error_id="cnb::libraries-unavailable")


def run(app_dir: Path, args: BuildArgs, environ: dict[str, str]) -> None:
    layers = Layers(args.layers_dir)
    cache_dir = layers.path(CACHE_LAYER)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with env_cache.locked(cache_dir):
        env_cache.remove_stale_temp(cache_dir)
        inputs = read_inputs(app_dir, cache_dir, args.env_dir, environ)
        prepare(inputs)  # the buildpack's libraries into the cache layer: planning reads with them
        plan = make_plan(inputs)
        libraries.ensure(cache_dir, installer_settings(plan.environ, plan.config).get("PIP_INDEX_URL"))
        steps.run(plan, LayersTarget(layers))


def main(argv: list[str]) -> int:
    environ = plan_environ(os.environ)
    run(Path.cwd().resolve(), BuildArgs.from_environment(environ, argv), environ)
    return 0
