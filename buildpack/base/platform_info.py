"""Which stack and CPU architecture this build runs on."""
from __future__ import annotations

import os
import re

_OS_RELEASE = "/etc/os-release"


def parse_os_release(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def stack_from_os_release(text: str) -> str:
    """``ID-VERSION_ID`` (e.g. ``debian-12``, ``ubuntu-24.04``), or ``linux``."""
    values = parse_os_release(text)
    distro = re.sub(r"[^a-z0-9.]+", "-", values.get("ID", "").lower()).strip("-")
    version = re.sub(r"[^a-z0-9.]+", "-", values.get("VERSION_ID", "").lower()).strip("-")
    if distro and version:
        return f"{distro}-{version}"
    return distro or "linux"


def current_stack(environ: dict[str, str] | None = None) -> str:
    """``STACK`` when the platform sets it, else derived from /etc/os-release."""
    env = os.environ if environ is None else environ
    if env.get("STACK", "").strip():
        return env["STACK"].strip()
    try:
        with open(_OS_RELEASE, encoding="utf-8", errors="replace") as fh:
            return stack_from_os_release(fh.read())
    except OSError:
        return "linux"


def current_arch() -> str:
    """``uname -m`` (x86_64, aarch64, ...)."""
    return os.uname().machine or "unknown"
