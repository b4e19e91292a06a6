"""The classic target: where ``bin/compile`` puts things in BUILD_DIR (``steps.Target``).

The runtime and the packages go to ``.heroku/python``, their SBOM to ``.heroku/sbom.cdx.json``
(and beside the build report in CACHE_DIR), the run-time environment to
``.profile.d/python.sh``, the later buildpacks' environment to ``export``
(``base.slug_layout`` names the paths). ``cleanup`` removes what a failed build added."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from buildpack import installers
from buildpack.app import app_base, app_files, processes
from buildpack.app_build import sbom
from buildpack.base import children, output, slug_layout
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import PYTHON_DIR
from buildpack.cache import env_cache
from buildpack.plan.plan import Plan
from buildpack.runtime import profile_d, relocate
from buildpack.slug import export_file


class SlugTarget:
    """Where ``bin/compile`` puts things (``steps.Target``): see ``slug_layout``."""

    def __init__(self, build_dir: Path, cache_dir: Path) -> None:
        self.build_dir, self.cache_dir = build_dir, cache_dir
        self.prefix = build_dir / PYTHON_DIR
        self.runtime_path = slug_layout.RUNTIME_PREFIX
        self.slug_root: Path | None = build_dir  # runs as /app
        self.app_bytecode: children.Background | None = None
        self.saving: env_cache.Saving | None = None
        self.before: dict[str, list[Any]] | None = None  # watched: the app's build code runs

    def prepare(self, key: env_cache.CacheKey) -> str:
        if app_files.remove(self.build_dir, PYTHON_DIR):
            output.detail(f"Replacing the existing {PYTHON_DIR} in the app")
        app_files.make_dirs(self.build_dir, PYTHON_DIR.parent)  # .heroku: a real folder
        state = env_cache.restore(self.cache_dir, key, self.prefix)
        if state == env_cache.UPDATE:
            output.detail("The previous build's environment, moved from the build cache: the\n"
                          "package manager installs what changed and removes what is no longer needed.")
        return state

    def begin_keep(self, key: env_cache.CacheKey) -> None:
        self.saving = env_cache.begin_save(self.cache_dir, key, self.prefix)

    def watch(self, app_code: bool) -> None:
        self.before = env_cache.snapshot(self.prefix, inodes=True) if app_code else None

    def keep(self, settled: bool) -> None:
        try:
            if self.saving is not None and self.saving.finish(self.before, settled):
                output.detail("The installed environment is kept for the next build (linked in "
                              f"{time.monotonic() - self.saving.started:.1f} s, beside the build)")
        finally:
            if self.app_bytecode is not None:
                self.app_bytecode.wait()

    def abandon(self) -> None:
        if self.saving is not None:
            self.saving.abandon()

    def finish(self, plan: Plan, ctx: installers.InstallContext) -> None:
        # The app's bytecode is compiled (a child on the other CPU) while the rest of the
        # build goes on, the environment's save (``keep``) included: neither writes where
        # the other reads (the app's folders; .heroku/python).
        self.app_bytecode = children.Background(relocate.compile_app_bytecode, ctx.python,
                                                plan.build_dir, ctx.env)
        profile_d.write_profile(plan.build_dir, plan.app_base)
        export_file.write_export()
        output.step(f"Writing the SBOM ({sbom.SLUG_PATH}, CycloneDX)")
        listed = sbom.write([plan.build_dir / sbom.SLUG_PATH, self.cache_dir / sbom.CACHE_NAME],
                            plan.runtime, ctx.python,
                            sbom.lock_hashes(plan.files, plan.dependencies.files))
        output.detail(f"python-{plan.runtime.label} and {len(listed)} installed distributions;\n"
                      f"a copy beside the build report (bin/report --sbom prints it)")
        app_base.record(plan.build_dir, plan.app_base)
        processes.log_discovery(plan.procfiles, plan.files, self.prefix)


def cleanup(build_dir: Path, heroku_existed: bool, profile_existed: bool) -> None:
    """Remove what a failed build added to BUILD_DIR, so no half-built slug remains."""
    try:
        app_files.remove(build_dir, ".heroku" if not heroku_existed else PYTHON_DIR)
        if not profile_existed:
            app_files.remove(build_dir, f".profile.d/{slug_layout.PROFILE_NAME}")
            os.rmdir(build_dir / ".profile.d")
    except (OSError, BuildError):
        pass  # something in the way that this build did not make: leave it
