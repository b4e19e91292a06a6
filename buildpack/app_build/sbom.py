"""The installed Python's SBOM: CycloneDX JSON, for both targets.

- CNB: the python layer's ``<layers>/python.sbom.cdx.json`` (``cnb.build``);
- a slug: ``.heroku/sbom.cdx.json`` in the slug and ``CACHE_DIR/sbom.cdx.json`` beside the
  build report (``slug.target``; ``bin/report --sbom`` prints the latter).

It lists the runtime (its version, the sha256 of the store's archive, and, when
``vendor/cpython-sources.json`` pins that release, the sha256 of its pristine source
tarball as its pedigree) and every distribution the installed Python sees, with its
version, read from the metadata folders on its search path as ``importlib.metadata``
finds them (so nothing any installer did is missed, including pip itself and packages a
``post_compile`` hook added), with the sha256 of the file it was installed from where that is known: recorded
by the environment (PEP 610's ``direct_url.json``: direct URL and local archive installs),
else the app's TOML lock file's hash of the one wheel of that release whose tags the
installed copy carries (uv.lock, poetry.lock, pdm.lock, pylock.toml; not Pipfile.lock or
requirements files, whose hashes name no file). Written on every build, so that it matches a reused
environment too; deterministic (no timestamp, no random serial number), so an unchanged
environment keeps an unchanged SBOM.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from buildpack.app.app_files import AppFiles
from buildpack.base import atomic_write, cache_files, settings, toml_io
from buildpack.base.names import normalize
from buildpack.base.output import BuildError
from buildpack.runtime.manifest import RuntimeEntry

MEDIA_TYPE = "application/vnd.cyclonedx+json"
EXTENSION = "sbom.cdx.json"
SPEC_VERSION = "1.4"

SLUG_PATH = Path(".heroku") / EXTENSION  # in the slug: .heroku/sbom.cdx.json
CACHE_NAME = EXTENSION  # CACHE_DIR/sbom.cdx.json, beside the build report
MAX_BYTES = 64 << 20  # bin/report --sbom reads no more (thousands of packages fit)
SOURCE_PINS = settings.VENDOR_DIR / "cpython-sources.json"
_PINS_MAX_BYTES = 1 << 20

# PEP 610's hash names -> CycloneDX's, with the length of their hex digests.
_ALGORITHMS = {"md5": ("MD5", 32), "sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64),
               "sha384": ("SHA-384", 96), "sha512": ("SHA-512", 128)}
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    license: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (CycloneDX algorithm, hex digest)

    @property
    def canonical_name(self) -> str:
        """PEP 503's normalized name (which is also what a pypi purl wants)."""
        return normalize(self.name)

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{quote(self.canonical_name, safe='')}@{quote(self.version, safe='')}"


def installed_distributions(python: Path, locked: Mapping[str, str] | None = None) -> list[Distribution]:
    """What ``python`` sees, one per name (the first on its path, as imports do), sorted;
    with the hashes its records name, else the sha256 ``locked`` (``lock_hashes``) gives
    the wheel it was installed from."""
    wheels = _wheels_by_release(locked or {})
    found: dict[str, Distribution] = {}
    for info in _metadata_folders(_search_path(python.parent.parent)):
        item = _read_distribution(info)
        if item is None:
            continue
        name, version, license_expression, direct, tags = item
        hashes = _known_hashes(direct) or _known_hashes(_locked_hash(wheels, name, version, tags))
        dist = Distribution(name, version, license_expression, hashes)
        found.setdefault(dist.canonical_name, dist)
    return sorted(found.values(), key=lambda d: d.canonical_name)


# --- the installed metadata, read as importlib.metadata finds it -------------------------------
#
# Read here rather than by ``importlib.metadata`` inside the runtime: a second interpreter
# started on every build cost 50 ms of a 0.3 s warm build. The search path is the one
# ``site`` gives the runtime: each site-packages folder, then the folders its ``.pth`` files
# name (an editable install's source, for one); every file is read through the bounded reader.

METADATA_MAX_BYTES = 16 << 20  # a long description included: far above any real one
_SMALL_MAX_BYTES = 1 << 20  # WHEEL, direct_url.json, a .pth file


def _search_path(prefix: Path) -> list[Path]:
    found: list[Path] = []
    for site in sorted(prefix.glob("lib/python3*/site-packages")):
        found.append(site)
        for pth in sorted(site.glob("*.pth")):
            if pth.name.startswith("."):
                continue  # site skips hidden .pth files
            for line in _text(pth, _SMALL_MAX_BYTES).splitlines():
                if line.startswith(("#", "import ", "import\t")) or not line.strip():
                    continue
                folder = site / line.rstrip()
                if folder.is_dir() and folder not in found:
                    found.append(folder)
    return found


def _metadata_folders(search_path: list[Path]) -> list[Path]:
    """Every ``*.dist-info`` and ``*.egg-info`` in the search path, in its order."""
    found: list[Path] = []
    for folder in search_path:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found += [folder / name for name in names if name.endswith((".dist-info", ".egg-info"))]
    return found


def _text(path: Path, limit: int) -> str:
    """The file's text; empty when it is missing or cannot be read within ``limit``."""
    try:
        data = cache_files.read(path, limit, follow_links=True)
    except cache_files.Unusable:
        return ""
    return (data or b"").decode("utf-8", "replace")


def _headers(text: str) -> dict[str, str]:
    """The first value of each header of a core-metadata file (RFC 822 style: the headers
    end at the first empty line; a line starting with a space continues the last one)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            continue  # a folded value: the fields read here are one line each
        key, _, value = line.partition(":")
        found.setdefault(key.strip().lower(), value.strip())
    return found


def _read_distribution(info: Path) -> tuple[str, str, str | None, object, set[str]] | None:
    """(name, version, License-Expression, direct_url.json's hashes, the WHEEL tags) of one
    metadata folder (or an ``.egg-info`` file); None without a name."""
    if info.suffix == ".egg-info" and not info.is_dir():
        meta = _headers(_text(info, METADATA_MAX_BYTES))
    else:
        meta = _headers(_text(info / "METADATA", METADATA_MAX_BYTES)
                        or _text(info / "PKG-INFO", METADATA_MAX_BYTES))
    name = meta.get("name")
    if not name:
        return None
    tags = {line[4:].strip() for line in _text(info / "WHEEL", _SMALL_MAX_BYTES).splitlines()
            if line.startswith("Tag:")}
    return name, meta.get("version", ""), meta.get("license-expression"), \
        _direct_url_hashes(_text(info / "direct_url.json", _SMALL_MAX_BYTES)), tags


def _direct_url_hashes(text: str) -> dict[str, str]:
    """PEP 610's ``archive_info`` hashes (``hashes``, else the older ``hash``)."""
    try:
        info = json.loads(text or "null")
    except ValueError:
        return {}
    archive = info.get("archive_info") if isinstance(info, dict) else None
    if not isinstance(archive, dict):
        return {}
    found = archive.get("hashes")
    if isinstance(found, dict):
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
    one = archive.get("hash")
    return dict([one.split("=", 1)]) if isinstance(one, str) and "=" in one else {}


# --- hashes from the lock file ----------------------------------------------------------------

_WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)"
                         r"-(?P<plat>[^-]+)\.whl$")


def _filename_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def lock_hashes(files: AppFiles, paths: Iterable[Path]) -> dict[str, str]:
    """Wheel file name -> sha256, from the app's TOML lock file (uv.lock, poetry.lock,
    pdm.lock, pylock.toml: each lists every artifact with its hash). Nothing from files
    that are not such locks or do not parse (the install has checked them already)."""
    found: dict[str, str] = {}
    for path in paths:
        if path.suffix not in (".lock", ".toml") or path.name in ("pyproject.toml", "Pipfile.lock") \
                or not toml_io.available():
            continue
        try:
            data = toml_io.loads(files.text(path, "lock") or "")
        except (ValueError, BuildError):
            continue
        stack: list[object] = [data]
        while stack:
            value = stack.pop()
            if isinstance(value, list):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if isinstance(v, (dict, list)))
                _add_artifact(value, found)
    return found


def _add_artifact(entry: dict[str, object], found: dict[str, str]) -> None:
    """One artifact entry: ``url``/``file``/``name`` of a wheel, with ``hash`` ("sha256:...")
    or ``hashes`` ({"sha256": ...})."""
    where = next((v for k in ("file", "name", "url", "path") if isinstance(v := entry.get(k), str)
                  and v.endswith(".whl")), None)
    if where is None:
        return
    digest = entry.get("hash")
    hashes = entry.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        digest = hashes["sha256"]
    elif isinstance(digest, str) and digest.startswith("sha256:"):
        digest = digest[len("sha256:"):]
    if isinstance(digest, str):
        found[where.rsplit("/", 1)[-1]] = digest.lower()


def _wheels_by_release(locked: Mapping[str, str]) -> dict[tuple[str, str], list[tuple[set[str], str]]]:
    """(name, version) -> [(the wheel's expanded tags, sha256)]."""
    found: dict[tuple[str, str], list[tuple[set[str], str]]] = {}
    for filename, digest in locked.items():
        match = _WHEEL_NAME.match(filename)
        if match is None:
            continue
        tags = {f"{py}-{abi}-{plat}" for py in match["py"].split(".") for abi in match["abi"].split(".")
                for plat in match["plat"].split(".")}
        key = (_filename_key(match["name"]), match["version"])
        found.setdefault(key, []).append((tags, digest))
    return found


def _locked_hash(wheels: Mapping[tuple[str, str], list[tuple[set[str], str]]], name: str,
                 version: str, installed_tags: set[str]) -> dict[str, str]:
    """The sha256 of the one locked wheel of this release whose tags the installed copy has."""
    matches = {digest for tags, digest in wheels.get((_filename_key(name), version), [])
               if installed_tags and tags <= installed_tags}
    return {"sha256": matches.pop()} if len(matches) == 1 else {}


def _known_hashes(raw: object) -> tuple[tuple[str, str], ...]:
    """The hashes ``direct_url.json`` recorded that CycloneDX can carry (others dropped)."""
    if not isinstance(raw, dict):
        return ()
    found = []
    for name, digest in sorted(raw.items()):
        alg = _ALGORITHMS.get(str(name).lower())
        digest = str(digest).lower()
        if alg is not None and len(digest) == alg[1] and _HEX.fullmatch(digest):
            found.append((alg[0], digest))
    return tuple(found)


def source_pin(version: str, pins: Path = SOURCE_PINS) -> tuple[str, str] | None:
    """(file, sha256) of ``version``'s pristine source tarball when the buildpack pins it."""
    try:
        with open(pins, "rb") as fh:
            data = json.loads(fh.read(_PINS_MAX_BYTES))
        minor = ".".join(version.split(".")[:2])
        pin = data["minors"][minor]
        if pin["version"] == version and _HEX.fullmatch(pin["sha256"]) and len(pin["sha256"]) == 64:
            return str(pin["file"]), pin["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _runtime_component(runtime: RuntimeEntry) -> dict[str, object]:
    # The release's version and CPE (what vulnerability data names); a free-threaded build
    # says so in its purl's qualifier and a property.
    variant = f"?variant={runtime.variant}" if runtime.variant else ""
    purl = f"pkg:generic/cpython@{quote(runtime.version, safe='')}{variant}"
    component: dict[str, object] = {
        "type": "application",
        "bom-ref": purl,
        "name": "cpython",
        "version": runtime.version,
        "description": f"The Python runtime ({runtime.file} from the runtime store)",
        "hashes": [{"alg": "SHA-256", "content": runtime.sha256}],
        "cpe": f"cpe:2.3:a:python:python:{runtime.version}:*:*:*:*:*:*:*",
        "purl": purl,
    }
    if runtime.variant:
        component["properties"] = [{"name": "buildpack-python:variant", "value": runtime.variant}]
    source = source_pin(runtime.version)
    if source is not None:
        component["pedigree"] = {"ancestors": [{
            "type": "application", "name": "cpython-source", "version": runtime.version,
            "description": f"The pristine source tarball {source[0]} (vendor/cpython-sources.json)",
            "hashes": [{"alg": "SHA-256", "content": source[1]}]}]}
    return component


def _component(dist: Distribution) -> dict[str, object]:
    component: dict[str, object] = {"type": "library", "bom-ref": dist.purl, "name": dist.name,
                 "version": dist.version, "purl": dist.purl}
    if dist.license:
        component["licenses"] = [{"expression": dist.license}]
    if dist.hashes:
        component["hashes"] = [{"alg": alg, "content": digest} for alg, digest in dist.hashes]
    return component


def render(runtime: RuntimeEntry, distributions: list[Distribution]) -> str:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": {"tools": [{"vendor": "buildpack-python", "name": "buildpack-python"}]},
        "components": [_runtime_component(runtime)] + [_component(d) for d in distributions],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(paths: list[Path], runtime: RuntimeEntry, python: Path,
          locked: Mapping[str, str] | None = None) -> list[Distribution]:
    """Write the SBOM of ``python`` (the runtime ``runtime``; ``locked``: ``lock_hashes``) to
    each of ``paths`` (each whole or not at all); returns the distributions it lists."""
    distributions = installed_distributions(python, locked)
    text = render(runtime, distributions)
    for path in paths:
        atomic_write.write_text(path, text)
    return distributions
