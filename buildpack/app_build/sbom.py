"""The installed Python's SBOM: CycloneDX JSON, for both targets.

- CNB: the python layer's ``<layers>/python.sbom.cdx.json`` (``cnb.build``);
- a slug: ``.heroku/sbom.cdx.json`` in the slug and ``CACHE_DIR/sbom.cdx.json`` beside the
  build report (``slug.target``; ``bin/report --sbom`` prints the latter).

It lists the runtime (its version, the sha256 of the store's archive, and, when
``vendor/cpython-sources.json`` pins that release, the sha256 of its pristine source
tarball as its pedigree) and every distribution the installed Python sees, with its
version, as ``importlib.metadata`` reports them inside that Python (so nothing any
installer did is missed, including pip itself and packages a ``post_compile`` hook
added), with the hashes of the file it was installed from where the environment records
them (PEP 610's ``direct_url.json``: direct URL and local archive installs; an install
from an index records none). Written on every build, so that it matches a reused
environment too; deterministic (no timestamp, no random serial number), so an unchanged
environment keeps an unchanged SBOM.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from buildpack.base import atomic_write, interpreter, settings
from buildpack.runtime.manifest import RuntimeEntry

MEDIA_TYPE = "application/vnd.cyclonedx+json"
EXTENSION = "sbom.cdx.json"
SPEC_VERSION = "1.4"

SLUG_PATH = Path(".heroku") / EXTENSION  # in the slug: .heroku/sbom.cdx.json
CACHE_NAME = EXTENSION  # CACHE_DIR/sbom.cdx.json, beside the build report
MAX_BYTES = 64 << 20  # bin/report --sbom reads no more (thousands of packages fit)
SOURCE_PINS = settings.VENDOR_DIR / "cpython-sources.json"
_PINS_MAX_BYTES = 1 << 20

_LIST_DISTRIBUTIONS = """\
import importlib.metadata as m, json, sys
def hashes(d):
    try:
        info = json.loads(d.read_text('direct_url.json') or 'null')
    except ValueError:
        return {}
    archive = info.get('archive_info') if isinstance(info, dict) else None
    if not isinstance(archive, dict):
        return {}
    found = archive.get('hashes')
    if isinstance(found, dict):
        return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}
    one = archive.get('hash')
    return dict([one.split('=', 1)]) if isinstance(one, str) and '=' in one else {}
found = [{'name': d.metadata['Name'], 'version': d.version,
          'license': d.metadata.get('License-Expression'), 'hashes': hashes(d)}
         for d in m.distributions() if d.metadata['Name']]
json.dump(found, sys.stdout)
"""
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
        return re.sub(r"[-_.]+", "-", self.name).lower()

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{quote(self.canonical_name, safe='')}@{quote(self.version, safe='')}"


def installed_distributions(python: Path) -> list[Distribution]:
    """What ``python`` sees, one per name (the first on sys.path, as imports do), sorted."""
    listed = interpreter.require(python, _LIST_DISTRIBUTIONS,
                                 env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                 what="Could not list the installed packages for the SBOM")
    found: dict[str, Distribution] = {}
    for item in listed:
        dist = Distribution(item["name"], item["version"], item["license"],
                            _known_hashes(item.get("hashes")))
        found.setdefault(dist.canonical_name, dist)
    return sorted(found.values(), key=lambda d: d.canonical_name)


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
    purl = f"pkg:generic/cpython@{quote(runtime.version, safe='')}"
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


def write(paths: list[Path], runtime: RuntimeEntry, python: Path) -> list[Distribution]:
    """Write the SBOM of ``python`` (the runtime ``runtime``) to each of ``paths`` (each
    whole or not at all); returns the distributions it lists."""
    distributions = installed_distributions(python)
    text = render(runtime, distributions)
    for path in paths:
        atomic_write.write_text(path, text)
    return distributions
