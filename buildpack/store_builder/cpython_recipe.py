"""How CPython is configured, made and installed from source: the recipe.

Everything that shapes the installed files of a from-source build lives here, and
nothing else: the machine-level build cache (``source_build``) keys each build by
the tarball's sha256, a fingerprint of this file and the flags it resolved on the
host, so changing the recipe rebuilds and changing anything else (logging, packing)
reuses the builds. docs/runtime-store.md lists every flag with its reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
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
    "--enable-loadable-sqlite-extensions",  # sqlite3's enable_load_extension (SpatiaLite...)
)
# configure copies LDFLAGS into the Makefile; make turns ``$$`` into ``$`` and the shell
# turns ``\$`` into ``$``, so the linker gets a literal $ORIGIN: bin/python finds
# libpython in ../lib wherever the runtime is unpacked.
ORIGIN_RPATH_LDFLAG = r"-Wl,-rpath,\$$ORIGIN/../lib"
# PGO and LTO, the default: a faster interpreter, a build several times longer
# (``--quick`` leaves them out). With GCC, configure then also builds libpython with
# -fno-semantic-interposition.
OPTIMIZE_ARGS = ("--enable-optimizations", "--with-lto")
# The free-threaded build (PEP 703): "3.13t".
FREE_THREADED_ARGS = ("--disable-gil",)

# The distribution's hardening flags, as Debian builds its packages (and its python3):
# ``dpkg-buildflags`` with every hardening feature on. Of what it prints only the
# hardening is kept: optimisation and debug levels are CPython's own (-O3, stripped
# later), and -ffile-prefix-map / -Wdate-time are about Debian's source paths.
DPKG_HARDENING = "hardening=+all"
_NOT_HARDENING = ("-O", "-ffile-prefix-map=", "-fdebug-prefix-map=", "-Wdate-time")
# The same set written down, for hosts without dpkg-buildflags: stack protector,
# format-string checks, fortified libc calls, full RELRO with immediate binding.
HARDENING_FALLBACK = {
    "CFLAGS": "-fstack-protector-strong -Wformat -Werror=format-security",
    "CPPFLAGS": "-D_FORTIFY_SOURCE=2",
    "LDFLAGS": "-Wl,-z,relro -Wl,-z,now",
}
# Variables of the calling environment that would change the build itself.
ENV_DROPPED = ("LD_LIBRARY_PATH", "LD_PRELOAD", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "LDFLAGS",
               "CFLAGS", "CPPFLAGS", "CC", "CXX", "TZ", "LANG", "LANGUAGE")


def hardening_only(flags: str) -> str:
    """The hardening part of a dpkg-buildflags value."""
    return " ".join(flag for flag in flags.split() if flag != "-g" and not flag.startswith(_NOT_HARDENING))


def hardening_flags(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """CFLAGS, CPPFLAGS and LDFLAGS: dpkg-buildflags' hardening on Debian-family hosts,
    else HARDENING_FALLBACK. The caller's DEB_* settings are not used."""
    dpkg = shutil.which("dpkg-buildflags")
    if dpkg is None:
        return dict(HARDENING_FALLBACK)
    env = {k: v for k, v in (os.environ if environ is None else environ).items()
           if not k.startswith("DEB_")}
    env["DEB_BUILD_MAINT_OPTIONS"] = DPKG_HARDENING
    flags = {}
    for name in HARDENING_FALLBACK:
        proc = subprocess.run([dpkg, "--get", name], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        if proc.returncode != 0:
            return dict(HARDENING_FALLBACK)
        flags[name] = hardening_only(proc.stdout)
    return flags


def configure_command(source_dir: Path, optimize: bool, flags: Mapping[str, str],
                      free_threaded: bool = False) -> list[str]:
    return [str(source_dir / "configure"), *CONFIGURE_ARGS,
            *(OPTIMIZE_ARGS if optimize else ()), *(FREE_THREADED_ARGS if free_threaded else ()),
            f"CFLAGS={flags['CFLAGS']}", f"CPPFLAGS={flags['CPPFLAGS']}",
            f"LDFLAGS={flags['LDFLAGS']} {ORIGIN_RPATH_LDFLAG}".lstrip()]


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
