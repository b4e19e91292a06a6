"""``bin/build-offline-bundle OUT.tar.gz --store STORE [--python X.Y[.Z] ...]``.

Packs the buildpack together with chosen runtimes, the pinned pip wheel and the pinned
package-manager tools (uv, Pipenv, Poetry with their whole closures, for each bundled
Python minor; what Cloud Foundry calls a cached buildpack), so a platform without
network access to a runtime store or to the package index still provisions Python and
installs with the same engine as a connected build. The bundled store lives in
``vendor/runtimes/``, the wheels in ``vendor/wheels/``; compile uses them when
PYTHON_RUNTIME_STORE is not set (and installs them with the same hash checks).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from buildpack.base import arguments, atomic_write, libraries, output, platform_info, settings
from buildpack.base.arguments import ArgumentParser
from buildpack.base.hashing import file_sha256
from buildpack.base.numbers import parse_version
from buildpack.base.output import BuildError
from buildpack.installers.pinned_tools import TOOLS, find_bundled_pip
from buildpack.runtime.manifest import MANIFEST_NAME, RuntimeEntry, parse_manifest, render_manifest
from buildpack.runtime.safe_extract import UnsafeArchive, extract_archive

# What a deployable buildpack consists of (tests, fixtures and docs stay behind).
CONTENTS = ("bin", "buildpack", "vendor", "buildpack.toml", "README.md")
DOWNLOAD_DEADLINE = 1800  # seconds, per pin file


def select(entries: list[RuntimeEntry], wanted: list[str], stack: str, arch: str) -> list[RuntimeEntry]:
    """Entries for this stack/arch matching each X.Y (newest patch) or X.Y.Z."""
    here = [e for e in entries if e.stack == stack and e.arch == arch]
    if not wanted:
        return here
    chosen = []
    for spec in wanted:
        parts = parse_version(spec, parts=(2, 3))  # checked by the argument's type
        matches = [e for e in here if not e.variant and e.version_tuple[: len(parts)] == parts]
        if not matches:
            have = ", ".join(e.version for e in here) or "none"
            raise BuildError(f"The store has no Python {spec} for {stack}/{arch}",
                             f"It has: {have}. Pick one of those with --python.",
                             error_id="offline-bundle::no-such-python")
        chosen.append(max(matches, key=lambda e: e.version_tuple))
    return sorted(set(chosen), key=lambda e: e.version_tuple)


def _download_pip(dest: Path, store_dir: Path, entry: RuntimeEntry,
                  minors: list[str]) -> Path:
    """Fetch the pinned pip wheel and the tools' closures for each of ``minors``
    (hash-checked), with a runtime's own bundled pip."""
    with tempfile.TemporaryDirectory(prefix="bundle-python-") as tmp:
        runtime = Path(tmp) / "python"
        try:
            extract_archive(store_dir / entry.file, runtime)  # as a build does (runtime.py)
        except UnsafeArchive as exc:
            raise BuildError(f"The Python {entry.version} archive cannot be extracted safely",
                             f"{store_dir / entry.file}: {exc}.\n\n"
                             "Rebuild the store with bin/build-runtime-store.",
                             error_id="offline-bundle::unsafe-archive") from None
        python = runtime / "bin" / "python3"
        wheel = find_bundled_pip(python)
        if wheel is None:
            raise BuildError("The runtime has no bundled pip to download pip with",
                             error_id="offline-bundle::no-bundled-pip")
        downloads = [["-r", str(settings.PIP_REQUIREMENTS)]] + [
            ["--python-version", minor, "-r", str(tool.requirements)]
            for minor in minors for tool in TOOLS.values()] + [
            # the buildpack's own libraries (libraries.py): pure wheels, any host Python
            ["--implementation", "py", "--abi", "none", "--platform", "any",
             "--python-version", "3.9", "-r", str(libraries.PINS)]]
        for args in downloads:
            try:
                proc = subprocess.run(
                    [str(python), "-E", "-s", f"{wheel}/pip", "download", "--no-deps",
                     "--require-hashes", "--only-binary=:all:", "-d", str(dest), *args],
                    env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
                    capture_output=True, text=True, check=False, timeout=DOWNLOAD_DEADLINE)
                problem = "" if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:]
            except subprocess.TimeoutExpired:
                problem = f"pip download did not finish in {DOWNLOAD_DEADLINE} s"
            if problem:
                raise BuildError(f"Could not download the pinned wheels ({' '.join(args)})",
                                 problem, error_id="offline-bundle::pip-download-failed")
    return next(dest.glob("pip-*.whl"))


def build_bundle(out: Path, store_dir: Path, entries: list[RuntimeEntry]) -> None:
    with tempfile.TemporaryDirectory(prefix="offline-bundle-") as tmp:
        root = Path(tmp) / "buildpack-python"
        for name in CONTENTS:
            src = settings.BUILDPACK_DIR / name
            if src.is_dir():
                shutil.copytree(src, root / name, symlinks=True, ignore=shutil.ignore_patterns(
                    "__pycache__", "runtimes", "wheels", "export"))
            else:
                shutil.copy2(src, root / name)
        runtimes = root / "vendor" / "runtimes"
        runtimes.mkdir(parents=True)
        for entry in entries:
            archive = store_dir / entry.file
            if file_sha256(archive) != entry.sha256:
                raise BuildError(f"{archive} does not match its manifest's sha256",
                                 "Rebuild the store with bin/build-runtime-store.",
                                 error_id="offline-bundle::archive-hash-mismatch")
            shutil.copy2(archive, runtimes / entry.file)
            output.detail(f"Added {entry.file} ({entry.size / 1024 / 1024:.1f} MB)")
        (runtimes / MANIFEST_NAME).write_text(render_manifest(entries), encoding="utf-8")
        minors = sorted({".".join(e.version.split(".")[:2]) for e in entries})
        wheel = _download_pip(root / "vendor" / "wheels", store_dir, entries[0], minors)
        count = len(list(wheel.parent.glob("*.whl")))
        tools = ", ".join(tool.display for tool in TOOLS.values())
        output.detail(f"Added {wheel.name} and the wheels of {tools} for Python "
                      f"{', '.join(minors)} ({count} wheels, hash-checked)")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write.replacing(out) as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(root, arcname="buildpack-python")


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="bin/build-offline-bundle", description=__doc__.splitlines()[0],
                            error_id="usage::offline-bundle-arguments")
    parser.add_argument("out", type=Path, help="the bundle to write (.tar.gz)")
    parser.add_argument("--store", type=Path, required=True,
                        help="a runtime store directory (bin/build-runtime-store makes one)")
    parser.add_argument("--python", action="append", default=[], type=arguments.python_version,
                        help="X.Y or X.Y.Z to include (repeatable; default: all for this stack)")
    args = parser.parse_args(argv)
    manifest = args.store / MANIFEST_NAME
    if not manifest.is_file():
        raise BuildError(f"{args.store} is not a runtime store", f"{manifest} does not exist.",
                         error_id="offline-bundle::not-a-store")
    try:
        entries = parse_manifest(manifest.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BuildError(f"{manifest} is invalid", str(exc),
                         error_id="offline-bundle::invalid-manifest") from None
    chosen = select(entries, args.python, platform_info.current_stack(), platform_info.current_arch())
    if not chosen:
        raise BuildError("No runtimes for this stack in the store",
                         "Build some with bin/build-runtime-store first.",
                         error_id="offline-bundle::no-runtimes")
    output.step(f"Building the offline bundle {args.out}")
    build_bundle(args.out.resolve(), args.store.resolve(), chosen)
    size = args.out.stat().st_size / 1024 / 1024
    output.step(f"Wrote {args.out} ({size:.1f} MB): {', '.join(e.version for e in chosen)}")
    output.detail("Unpack it and use buildpack-python/ as the buildpack; no store or index is")
    output.detail("needed for Python, pip, uv, Pipenv and Poetry (the app's own dependencies")
    output.detail("still need an index or PIP_FIND_LINKS + PIP_NO_INDEX).")
    return 0
