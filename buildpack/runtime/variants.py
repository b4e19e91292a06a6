"""A runtime's variant, and the names its files have because of it.

CPython has one build variant an app can ask for: the free-threaded build (PEP 703,
``--disable-gil``), requested as ``3.13t``. Its files carry a ``t`` after the minor:
``bin/python3.13t``, ``lib/python3.13t/``, ``include/python3.13t/``,
``lib/libpython3.13t.so.1.0``, and its wheels the ABI tag ``cp313t``. The default
build is the variant ``""``. Every place that names such a file asks this module, so a
free-threaded runtime is found, relocated, compiled and cleaned like a default one.
"""
from __future__ import annotations

DEFAULT = ""
FREETHREADED = "freethreaded"
VARIANTS = (DEFAULT, FREETHREADED)
# The letter a version request and the file names carry for each variant.
_SUFFIX = {DEFAULT: "", FREETHREADED: "t"}


def suffix(variant: str) -> str:
    """"t" for the free-threaded variant, "" for the default one."""
    return _SUFFIX[variant]


def from_suffix(letter: str) -> str:
    """The variant a version request's suffix ("t" or "") names."""
    for variant, known in _SUFFIX.items():
        if known == letter:
            return variant
    raise ValueError(f"no runtime variant is spelled {letter!r}")


def versioned(version: str, variant: str) -> str:
    """"3.13.15t" for the free-threaded 3.13.15: how logs, archive names and errors say it."""
    return version + suffix(variant)


def minor_of(version: str) -> str:
    """"3.13" from "3.13.15" (or from "3.13")."""
    return ".".join(version.split(".")[:2])


def tagged_minor(version: str, variant: str = DEFAULT) -> str:
    """"3.13t" for the free-threaded 3.13.x, "3.13" for the default build."""
    return minor_of(version) + suffix(variant)


def python_name(version: str, variant: str = DEFAULT) -> str:
    """The versioned name of the interpreter, its stdlib and its headers: "python3.13t"
    (bin/python3.13t, lib/python3.13t/, include/python3.13t/)."""
    return f"python{tagged_minor(version, variant)}"


def libpython_soname(version: str, variant: str = DEFAULT) -> str:
    """"libpython3.13t.so.1.0"."""
    return f"lib{python_name(version, variant)}.so.1.0"


def abi_tag(version: str, variant: str = DEFAULT) -> str:
    """The wheel ABI tag of the interpreter's own extension modules: "cp313t"."""
    return "cp" + minor_of(version).replace(".", "") + suffix(variant)


def label(variant: str) -> str:
    """How a log or an error names the variant: " (free-threaded)" or ""."""
    return " (free-threaded)" if variant == FREETHREADED else ""
