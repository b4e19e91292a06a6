"""How CPython is configured, made and installed from source: the recipe.

Everything that shapes the installed files of a from-source build lives here, and
nothing else: the machine-level build cache (``source_build``) keys each build by
the tarball's sha256 and a fingerprint of this file, so changing the recipe rebuilds
and changing anything else (logging, packing) reuses the builds.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.base.slug_layout import RUNTIME_PREFIX

# Builds run in this fixed directory (one at a time, under a lock): the build path
# ends up in the sysconfig data and the debug info, so a fixed path is part of a
# byte-reproducible build.
BUILD_ROOT = Path("/tmp/buildpack-python-build")

CONFIGURE_ARGS = (
    f"--prefix={RUNTIME_PREFIX}",
    "--enable-shared",
    "--with-ensurepip=no",     # the stdlib keeps ensurepip and its pip wheel; none installed
    "--disable-test-modules",  # not packed anyway (3.10+; older configures ignore it)
)
# configure copies LDFLAGS into the Makefile; make turns ``$$`` into ``$`` and the shell
# turns ``\$`` into ``$``, so the linker gets a literal $ORIGIN: bin/python finds
# libpython in ../lib wherever the runtime is unpacked.
ORIGIN_RPATH_LDFLAG = r"-Wl,-rpath,\$$ORIGIN/../lib"
# PGO and LTO: a faster interpreter, a build several times longer (opt-in).
OPTIMIZE_ARGS = ("--enable-optimizations", "--with-lto")
# Variables of the calling environment that would change the build itself.
ENV_DROPPED = ("LD_LIBRARY_PATH", "LD_PRELOAD", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "LDFLAGS",
               "CFLAGS", "CPPFLAGS", "CC", "CXX", "TZ", "LANG", "LANGUAGE")


def configure_command(source_dir: Path, optimize: bool) -> list[str]:
    return [str(source_dir / "configure"), *CONFIGURE_ARGS,
            *(OPTIMIZE_ARGS if optimize else ()), f"LDFLAGS={ORIGIN_RPATH_LDFLAG}"]


def make_commands(jobs: int, destdir: Path) -> list[tuple[str, list[str]]]:
    return [("build", ["make", f"-j{jobs}"]),
            ("install", ["make", "install", f"DESTDIR={destdir}"])]


def build_env(environ: dict[str, str], source_date_epoch: int) -> dict[str, str]:
    """The build's environment: the caller's, less what would change the result.

    PYTHON* variables would change the ``./python`` the build runs. SOURCE_DATE_EPOCH
    makes the compiler's __DATE__/__TIME__ (in ``sys.version``) the release's date,
    and LC_ALL/TZ fix what the tools print into generated files.
    """
    env = {k: v for k, v in environ.items() if not k.startswith("PYTHON") and k not in ENV_DROPPED
           and not k.startswith("LC_")}
    env.update(SOURCE_DATE_EPOCH=str(source_date_epoch), LC_ALL="C", TZ="UTC")
    return env
