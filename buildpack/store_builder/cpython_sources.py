"""Pristine CPython source tarballs: the pins in ``vendor/cpython-sources.json`` and
fetching a pinned tarball.

A pin names, per minor, the release to build, its upstream tarball and that tarball's
sha256 (from a published checksum; the file records which). A tarball is fetched from
python.org's release URL, else from the OS's source packages (Debian's
``python3.X_X.Y.Z.orig.tar.*`` is upstream's tarball, byte for byte), and accepted
only when its sha256 equals the pin, whichever way it came. Debian's indexes are read
through a private apt configuration (its own sources list, lists and cache dirs under
the machine cache); the host's apt sources are never edited.

Fetched tarballs are kept in ``<cache>/sources/<sha256>/`` so a rebuild needs no network.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from buildpack.base import output
from buildpack.base.hashing import file_sha256
from buildpack.base.numbers import NumberError, parse_version
from buildpack.base.output import BuildError
from buildpack.base.settings import VENDOR_DIR, machine_cache
from buildpack.python_version.python_lifecycle import Lifecycle

PINS_FILE = VENDOR_DIR / "cpython-sources.json"
PYTHON_ORG_URL = "https://www.python.org/ftp/python/{version}/{file}"
MAX_TARBALL_BYTES = 100 * 1024 * 1024
_PINS_MAX_BYTES = 256 * 1024
_MINOR_RE = re.compile(r"^3\.(\d+)$")
_VERSION_RE = re.compile(r"^3\.(\d+)\.(\d+)$")
_FILE_RE = re.compile(r"^Python-3\.\d+\.\d+\.(?:tar\.xz|tgz|tar\.gz)$")
_DEB_FILE_RE = re.compile(r"^python3\.\d+_3\.\d+\.\d+\.orig\.tar\.(?:xz|gz)$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SUITE_RE = re.compile(r"^[a-z]+(?:-[a-z]+)?$")
APT_TIMEOUT = 300
HTTP_TIMEOUT = 15


@dataclass(frozen=True)
class DebianSource:
    package: str   # python3.13
    version: str   # 3.13.15-1
    suite: str     # sid
    file: str      # python3.13_3.13.15.orig.tar.xz


@dataclass(frozen=True)
class Pin:
    minor: str     # 3.13
    version: str   # 3.13.15
    file: str      # Python-3.13.15.tar.xz
    sha256: str
    size: int
    origin: str    # where the checksum was published
    debian: DebianSource | None


# --- pins -------------------------------------------------------------------------

def _pins_error(path: Path, problem: str) -> BuildError:
    return BuildError(
        f"The CPython source pins in {path.name} are not valid",
        f"{path}: {problem}.\n\nRegenerate the file with scripts/refresh-cpython-pins, or fix it\n"
        "by hand: each minor maps to {\"version\", \"file\", \"sha256\", \"size\", \"origin\"}.",
        error_id="source-pins::malformed")


def parse_pins(text: str, path: Path = PINS_FILE) -> dict[str, Pin]:
    """The pins by minor, or a BuildError saying what is wrong with the file."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _pins_error(path, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != 1 or not isinstance(data.get("minors"), dict):
        raise _pins_error(path, 'expected {"schema": 1, "minors": {...}}')
    pins = {}
    for minor, raw in data["minors"].items():
        where = f"minors[{minor!r}]"
        if not _MINOR_RE.match(minor):
            raise _pins_error(path, f"{where}: {minor!r} is not a Python 3 minor like 3.13")
        if not isinstance(raw, dict):
            raise _pins_error(path, f"{where} is not an object")
        version, file, sha256 = raw.get("version"), raw.get("file"), raw.get("sha256")
        size, origin = raw.get("size"), raw.get("origin")
        if not isinstance(version, str) or not _VERSION_RE.match(version) \
                or not version.startswith(minor + "."):
            raise _pins_error(path, f"{where}.version {version!r} is not a {minor}.Z release")
        if not isinstance(file, str) or not _FILE_RE.match(file) or f"-{version}." not in file:
            raise _pins_error(path, f"{where}.file {file!r} is not Python-{version}.tar.xz (or .tgz)")
        if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
            raise _pins_error(path, f"{where}.sha256 is not 64 lowercase hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_TARBALL_BYTES:
            raise _pins_error(path, f"{where}.size is not a size in bytes up to {MAX_TARBALL_BYTES}")
        if not isinstance(origin, str) or not origin.strip():
            raise _pins_error(path, f"{where}.origin (where the checksum was published) is missing")
        pins[minor] = Pin(minor, version, file, sha256, size, origin, _debian(raw.get("debian"), where, path))
    return pins


def _debian(raw: object, where: str, path: Path) -> DebianSource | None:
    if raw is None:
        return None
    fields = {}
    for name in ("package", "version", "suite", "file"):
        value = raw.get(name) if isinstance(raw, dict) else None
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise _pins_error(path, f"{where}.debian.{name} is missing")
        fields[name] = value
    if not _SUITE_RE.match(fields["suite"]) or not _DEB_FILE_RE.match(fields["file"]) \
            or not re.match(r"^python3\.\d+$", fields["package"]):
        raise _pins_error(path, f"{where}.debian does not name a python3.X source package")
    return DebianSource(**fields)


def load_pins(path: Path | None = None) -> dict[str, Pin]:
    """The pins of ``vendor/cpython-sources.json`` (``$BUILDPACK_CPYTHON_PINS`` names
    another file, for tests and for platforms with their own pins)."""
    path = path or Path(os.environ.get("BUILDPACK_CPYTHON_PINS") or PINS_FILE)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_PINS_MAX_BYTES + 1)
    except OSError as exc:
        raise _pins_error(path, f"cannot be read ({exc.strerror})") from None
    if len(raw) > _PINS_MAX_BYTES:
        raise _pins_error(path, f"larger than {_PINS_MAX_BYTES // 1024} KiB")
    try:
        return parse_pins(raw.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise _pins_error(path, "not UTF-8") from None


def minor_key(minor: str) -> tuple[int, ...]:
    return parse_version(minor, parts=(2,))


def buildable_minors(pins: Mapping[str, Pin], today: datetime.date | None = None,
                     lifecycle: Lifecycle | None = None) -> list[str]:
    """The pinned minors apps may still build with (python_lifecycle's end-of-life
    policy: refused only after the grace period that follows the end of life)."""
    today = today or datetime.date.today()
    lifecycle = lifecycle or Lifecycle.from_vendor()
    usable = set(lifecycle.usable([_minor(m) for m in pins], today))
    return sorted((m for m in pins if _minor(m) in usable), key=minor_key)


def _minor(text: str) -> tuple[int, int]:
    major, minor = parse_version(text, parts=(2,))
    return major, minor


def select_pin(request: str, pins: Mapping[str, Pin], today: datetime.date | None = None,
               lifecycle: Lifecycle | None = None) -> Pin:
    """The pin for ``3.X`` (or ``3.X.Y``, which must be the pinned release)."""
    lifecycle = lifecycle or Lifecycle.from_vendor()
    buildable = buildable_minors(pins, today, lifecycle)
    listing = f"Pinned minors that can be built: {', '.join(buildable) or 'none'} (vendor/cpython-sources.json)."
    request = request.strip()
    if re.match(r"^2(\.[0-9]{1,4})*$", request):
        raise BuildError(f"Python {request} cannot be built: Python 2 is not supported",
                         f"Python 2 reached its end of life in 2020.\n{listing}",
                         error_id="source-build::python2")
    match = re.match(r"^(3\.[0-9]+)(?:\.([0-9]+))?$", request)
    try:
        parse_version(request, parts=(2, 3))
    except NumberError:
        match = None
    if not match:
        raise BuildError(f"{request!r} is not a Python version like 3.14",
                         f"--from-source takes minors (3.14) or pinned releases (3.14.10).\n{listing}",
                         error_id="source-build::bad-version")
    minor = match.group(1)
    if minor not in buildable:
        eol = lifecycle.end_of_life.get(_minor(minor))
        why = (f"{minor} reached its end of life on {eol.isoformat()}" if eol and minor in pins
               else f"no source tarball of {minor} is pinned")
        raise BuildError(f"Python {minor} cannot be built from source: {why}", listing,
                         error_id="source-build::unknown-minor")
    pin = pins[minor]
    if match.group(2) is not None and request != pin.version:
        raise BuildError(f"Python {request} is not the pinned {minor} release",
                         f"vendor/cpython-sources.json pins {pin.version} for {minor}: builds use the\n"
                         "newest pinned patch release. Refresh the pins with scripts/refresh-cpython-pins.",
                         error_id="source-build::not-pinned")
    return pin


# --- fetching ---------------------------------------------------------------------

def fetch(pin: Pin, root: Path | None = None) -> Path:
    """The verified tarball of ``pin`` (downloaded once into the machine cache)."""
    root = root or machine_cache()
    keep = root / "sources" / pin.sha256 / pin.file
    if keep.is_file() and file_sha256(keep) == pin.sha256:
        output.detail(f"fetch: {pin.file} from the machine cache ({keep.parent})")
        return keep
    keep.parent.mkdir(parents=True, exist_ok=True)
    tried = []
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=keep.parent) as tmp:
        for name, getter in (("python.org", _from_python_org), ("Debian source package", _from_debian)):
            try:
                got = getter(pin, Path(tmp), root)
            except _Unavailable as exc:
                tried.append(f"{name}: {exc}")
                continue
            actual = file_sha256(got)
            if actual != pin.sha256:
                got.unlink()
                raise BuildError(
                    f"The source tarball of Python {pin.version} does not match its pin",
                    f"{name} gave {got.name} with sha256\n  {actual}\nbut vendor/cpython-sources.json "
                    f"pins\n  {pin.sha256}\n({pin.origin}). The file was deleted; nothing was built.",
                    error_id="source-build::checksum-mismatch")
            os.replace(got, keep)
            output.detail(f"fetch: {pin.file} from {name}, sha256 matches the pin")
            return keep
    raise BuildError(
        f"Cannot download the source of Python {pin.version}",
        "Tried, in this order:\n" + "".join(f"  - {line}\n" for line in tried)
        + f"\nPut {pin.file} (sha256 {pin.sha256}) into\n  {keep.parent}/\n"
        "by hand, or build another minor.",
        error_id="source-build::unavailable")


class _Unavailable(Exception):
    """This way of fetching did not give a file (the message says why)."""


def _download(url: str, dest: Path, limit: int) -> None:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp, open(dest, "wb") as out:
            copied = 0
            while True:
                block = resp.read1(1 << 20)
                if not block:
                    break
                copied += len(block)
                if copied > limit:
                    raise _Unavailable(f"{url} is larger than {limit} bytes")
                out.write(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        dest.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise _Unavailable(f"{url}: {reason}") from None


def _from_python_org(pin: Pin, tmp: Path, _root: Path) -> Path:
    if os.environ.get("BUILDPACK_NO_PYTHON_ORG"):
        raise _Unavailable("skipped (BUILDPACK_NO_PYTHON_ORG is set)")
    dest = tmp / pin.file
    _download(PYTHON_ORG_URL.format(version=pin.version, file=pin.file), dest, pin.size + 1024)
    return dest


def _from_debian(pin: Pin, tmp: Path, root: Path) -> Path:
    if pin.debian is None:
        raise _Unavailable("the pin names no Debian source package")
    if shutil.which("apt-get") is None:
        raise _Unavailable("apt-get is not installed (not a Debian-family host)")
    with private_apt(root, [pin.debian.suite]) as apt:
        spec = f"{pin.debian.package}={pin.debian.version}"
        proc = apt.run(["apt-get", "source", "--download-only", "--tar-only", "-q", spec], cwd=tmp)
        got = tmp / pin.debian.file
        if proc.returncode != 0 or not got.is_file():
            errors = [line.strip() for line in proc.stdout.splitlines() if line.startswith(("E:", "W:"))]
            tail = "; ".join(errors[-2:]) or proc.stdout.strip()[-300:]
            raise _Unavailable(f"apt-get source {spec} ({pin.debian.suite}) failed: {tail}")
    dest = tmp / pin.file
    os.replace(got, dest)
    return dest


# --- a private apt configuration -------------------------------------------------

@dataclass(frozen=True)
class PrivateApt:
    root: Path
    options: tuple[str, ...]

    def run(self, cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        full = [cmd[0], *self.options, *cmd[1:]]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        try:
            return subprocess.run(full, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=APT_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise _Unavailable(f"{' '.join(cmd[:2])} took longer than {APT_TIMEOUT}s") from None


def host_debian_archives(sources_dir: Path = Path("/etc/apt")) -> tuple[str, str, str]:
    """(archive URI, security URI, keyring) of the host's Debian apt entries.

    The private configuration uses the host's own mirror and keyring, so no mirror
    is named here and a host behind a local mirror keeps using it.
    """
    texts = []
    for path in sorted(sources_dir.glob("sources.list.d/*.sources")) + [sources_dir / "sources.list"] \
            + sorted(sources_dir.glob("sources.list.d/*.list")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    uris = re.findall(r"(?:^URIs:\s*|^deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?)(\S+/debian(?:-security)?)/?\s",
                      "\n".join(texts) + "\n", re.M)
    archive = next((u for u in uris if u.endswith("/debian")), "")
    security = next((u for u in uris if u.endswith("/debian-security")), "")
    if not archive:
        raise _Unavailable("the host's apt configuration has no Debian archive to read source indexes from")
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    if not os.path.isfile(keyring):
        raise _Unavailable(f"{keyring} is missing (apt-get install debian-archive-keyring)")
    return archive, security or archive + "-security", keyring


def sources_list(suites: list[str], archive: str, security: str, keyring: str) -> str:
    lines = []
    for suite in sorted(set(suites)):
        uri = security if suite.endswith("-security") else archive
        lines.append(f"deb-src [signed-by={keyring}] {uri} {suite} main")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def private_apt(root: Path, suites: list[str]) -> Iterator[PrivateApt]:
    """An apt configuration of our own for ``suites`` (deb-src), index up to date.

    Lists and caches live in ``<root>/apt``; the host's sources, lists and cache are
    neither read for packages nor written. The index is refreshed when the wanted
    suites change or it is older than a day.
    """
    archive, security, keyring = host_debian_archives()
    base = root / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "etc"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    wanted = sources_list(suites, archive, security, keyring)
    sources = base / "etc" / "sources.list"
    options = (
        f"-o=Dir::Etc::SourceList={sources}", "-o=Dir::Etc::SourceParts=-",
        f"-o=Dir::State::Lists={base / 'lists'}", f"-o=Dir::Cache={base / 'cache'}",
        "-o=Dir::State::status=/dev/null", "-o=Debug::NoLocking=1",
        "-o=APT::Sandbox::User=" + ("root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")),
    )
    apt = PrivateApt(base, options)
    stamp = base / "updated"
    stale = not stamp.is_file() or not sources.is_file() or sources.read_text() != wanted \
        or (datetime.datetime.now().timestamp() - stamp.stat().st_mtime) > 86400
    if stale:
        sources.write_text(wanted)
        proc = apt.run(["apt-get", "update", "-q"])
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.strip().splitlines()[-3:])
            raise _Unavailable(f"apt-get update (private sources list {sources}) failed: {tail}")
        stamp.write_text(wanted)
    yield apt
