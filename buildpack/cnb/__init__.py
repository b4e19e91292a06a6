"""The Cloud Native Buildpacks API (``bin/detect``, ``bin/build``, ``buildpack.toml``).

The same buildpack serves both APIs. Under a CNB lifecycle (``CNB_BUILDPACK_DIR`` names
this buildpack), ``bin/detect`` writes a build plan and ``bin/build`` builds into layers
instead of a slug, with the classic build's own steps (``buildpack.plan.plan``): the same
version rules, runtime store, installers, cache keys, hooks and error messages.

Layers (in ``CNB_LAYERS_DIR``):

- ``python``: the runtime with pip and the app's dependencies (what ``.heroku/python``
  holds in a slug), for launch, later buildpacks and the next build. Its ``[metadata]``
  is the installed environment's cache key (``env_cache.CacheKey``): a build with the
  same key reuses the layer as it is; its SBOM lists the runtime and every installed
  distribution (``sbom``).
- ``python-env``: the launch environment (``env.launch`` defaults, ``exec.d`` for
  ``WEB_CONCURRENCY``), rewritten on every build (``launch_env``).
- ``cache``: the classic CACHE_DIR (runtime archives, pip's wheel cache, the runtime
  with pip), cache only, so a dependency change downloads nothing it already has.

Process types go to ``launch.toml`` (``launch``).
"""
