"""``bin/build``: the classic compile's steps, into CNB layers (see ``buildpack.cnb``).

The plan is the classic one (``compile.make_plan``: the app dir is the working
directory, the config vars are ``<platform>/env``, CACHE_DIR is the ``cache`` layer),
with Python in the ``python`` layer, at the path it keeps at launch. Then, as
``compile.execute`` does for a slug: the ``pre_compile`` hook; the installed environment
(reused when the layer's metadata is the current cache key, else built afresh, the
runtime and pip coming from the cache layer when only the dependencies changed);
collectstatic; the ``post_compile`` hook; the app's bytecode; the process types. What a
slug carries in ``.profile.d`` and ``.release`` goes to the ``python-env`` layer and
``launch.toml``; the SBOM is written beside the python layer.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from buildpack import compile as classic
from buildpack import (django, env_cache, hooks, installers, nltk_data, output, processes,
                       relocate)
from buildpack.cnb import launch, launch_env, sbom
from buildpack.cnb.context import BuildArgs, target_stack
from buildpack.cnb.layers import Layers, LayerTypes
from buildpack.envdir import lookup

PYTHON_LAYER = "python"
CACHE_LAYER = "cache"
_INT_FIELDS = {f.name for f in dataclasses.fields(env_cache.CacheKey) if f.type in ("int", int)}


def key_metadata(key: env_cache.CacheKey | None) -> dict[str, Any]:
    """The python layer's ``[metadata]``: the cache key, all strings (see ``layers``)."""
    if key is None:
        return {"cached": "no: the app installs its own code"}
    return {name: list(value) if isinstance(value, tuple) else str(value)
            for name, value in dataclasses.asdict(key).items()}


def _previous_key(metadata: dict[str, Any]) -> dict[str, Any]:
    """The cache key fields of a restored ``[metadata]`` (numbers back to integers)."""
    fields: dict[str, Any] = dict(metadata)
    for name in _INT_FIELDS & set(fields):
        try:
            fields[name] = int(float(fields[name]))
        except (TypeError, ValueError):
            pass  # then it differs from the current key, which says so
    return fields


def _reusable(layers: Layers, key: env_cache.CacheKey) -> bool:
    """Whether the previous build's python layer is the one this build would install."""
    previous = layers.metadata(PYTHON_LAYER)
    if previous is None:
        return False
    reasons = env_cache.differences(_previous_key(previous), key)
    if reasons:
        output.step("Discarding cache since:")
        for reason in reasons:
            output.detail(f"- {reason}")
        return False
    if not (layers.path(PYTHON_LAYER) / "bin" / "python3").is_file():
        output.detail("The previous build's python layer is not in the build cache.")
        return False
    return True


def _install(plan: classic.Plan, layers: Layers) -> installers.InstallContext:
    """Everything up to the installed environment, in the python layer."""
    ctx, app_env = classic.install_context(plan)
    hooks.run_hook(hooks.PRE_COMPILE, ctx.app_dir, plan.build_dir, app_env, ctx.secrets)
    output.step(f"Preparing Python runtime (python-{plan.runtime.version})")
    key = classic.cache_key(plan)
    if key is not None and _reusable(layers, key):
        classic.log_reuse(key, f"Reusing the {PYTHON_LAYER} layer of the previous build",
                          "using the installed packages")
    else:
        layers.remove(PYTHON_LAYER)
        classic.install_fresh(plan, ctx)
    layers.write(PYTHON_LAYER, LayerTypes(launch=True, build=True, cache=key is not None),
                 key_metadata(key))
    nltk_data.download(list(plan.nltk_ids), ctx.python, app_env, ctx.secrets, ctx.app_dir,
                       lookup(nltk_data.URL_VAR, plan.config, dict(os.environ)))
    django.collectstatic(ctx.app_dir, plan.build_dir, ctx.python, app_env, ctx.secrets,
                         lookup(django.DISABLE_VAR, plan.config, dict(os.environ)))
    hooks.run_hook(hooks.POST_COMPILE, ctx.app_dir, plan.build_dir, app_env, ctx.secrets)
    return ctx


def build(app_dir: Path, args: BuildArgs) -> None:
    layers = Layers(args.layers_dir)
    cache_dir = layers.path(CACHE_LAYER)
    cache_dir.mkdir(parents=True, exist_ok=True)
    layers.write(CACHE_LAYER, LayerTypes(cache=True))
    with env_cache.locked(cache_dir):
        env_cache.remove_stale_temp(cache_dir)
        plan = classic.make_plan(app_dir, cache_dir, args.env_dir)
        prefix = layers.path(PYTHON_LAYER)
        plan = dataclasses.replace(plan, python_home=prefix, runtime_path=str(prefix))
        ctx = _install(plan, layers)
    # The app stays where it was built: its bytecode names its own paths.
    relocate.compile_bytecode(ctx.python, [app_dir], app_dir, ctx.env,
                              runtime_path=str(app_dir), exclude=r"/\.git/")
    output.step("Writing the launch environment and the SBOM")
    values = launch_env.write(layers, ctx.app_dir)
    output.detail(f"{', '.join(f'{k}={v}' for k, v in values.items())} (each unless set),\n"
                  "WEB_CONCURRENCY from the container's memory and CPUs")
    listed = sbom.write(layers.root, PYTHON_LAYER, plan.runtime, ctx.python)
    output.detail(f"{PYTHON_LAYER}.{sbom.EXTENSION}: python-{plan.runtime.version} and "
                  f"{len(listed)} installed distributions")
    processes.log_discovery(app_dir, plan.app_base, prefix)
    launch.write(layers.root, processes.release_types(app_dir, plan.app_base, prefix),
                 ctx.app_dir if plan.app_base else None)


def main(argv: list[str]) -> int:
    args = BuildArgs.from_environment(os.environ, argv)
    stack = target_stack(os.environ)
    if stack and not os.environ.get("STACK", "").strip():
        os.environ["STACK"] = stack  # the run image's distribution picks the runtime
    build(Path.cwd().resolve(), args)
    return 0
