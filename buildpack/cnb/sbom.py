"""The python layer's SBOM: CycloneDX JSON in ``<layers>/python.sbom.cdx.json``.

It lists the runtime (its version and the sha256 of the store's archive) and every
distribution the installed Python sees, with its version, as ``importlib.metadata``
reports them inside that Python (so nothing any installer did is missed, including
pip itself and packages a ``post_compile`` hook added). Written on every build, so
that it matches a reused layer too; deterministic (no timestamp, no random serial
number), so an unchanged layer keeps an unchanged SBOM.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from buildpack.base import interpreter
from buildpack.runtime.manifest import RuntimeEntry

MEDIA_TYPE = "application/vnd.cyclonedx+json"
EXTENSION = "sbom.cdx.json"
SPEC_VERSION = "1.4"

_LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json, sys\n"
    "found = [{'name': d.metadata['Name'], 'version': d.version,\n"
    "          'license': d.metadata.get('License-Expression')}\n"
    "         for d in m.distributions() if d.metadata['Name']]\n"
    "json.dump(found, sys.stdout)\n"
)


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    license: str | None = None

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
        dist = Distribution(item["name"], item["version"], item["license"])
        found.setdefault(dist.canonical_name, dist)
    return sorted(found.values(), key=lambda d: d.canonical_name)


def _runtime_component(runtime: RuntimeEntry) -> dict[str, object]:
    purl = f"pkg:generic/cpython@{quote(runtime.version, safe='')}"
    return {
        "type": "application",
        "bom-ref": purl,
        "name": "cpython",
        "version": runtime.version,
        "description": f"The Python runtime ({runtime.file} from the runtime store)",
        "hashes": [{"alg": "SHA-256", "content": runtime.sha256}],
        "cpe": f"cpe:2.3:a:python:python:{runtime.version}:*:*:*:*:*:*:*",
        "purl": purl,
    }


def _component(dist: Distribution) -> dict[str, object]:
    component: dict[str, object] = {"type": "library", "bom-ref": dist.purl, "name": dist.name,
                 "version": dist.version, "purl": dist.purl}
    if dist.license:
        component["licenses"] = [{"expression": dist.license}]
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


def write(layers_dir: Path, layer: str, runtime: RuntimeEntry, python: Path) -> list[Distribution]:
    """Write the layer's SBOM; returns the distributions it lists."""
    distributions = installed_distributions(python)
    (layers_dir / f"{layer}.{EXTENSION}").write_text(render(runtime, distributions),
                                                     encoding="utf-8")
    return distributions
