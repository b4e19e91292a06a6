"""The Python version of this build, decided at plan time and explained in the log.

1. The app's version sources (``versions``: runtime.txt, .python-version, Pipfile.lock).
2. Without one: the minor this app was built with before (the **sticky** version,
   recorded in ``CACHE_DIR/python-version.json``), else the **default**
   (``python_lifecycle``). ``requires-python`` (or Poetry's python constraint) narrows
   this choice: the sticky/default minor if the store has a version of it that satisfies
   the constraint, else the newest store version that does.
3. The end-of-life policy (``python_lifecycle``) and the pinned tools' support (pip, and
   Pipenv/Poetry/uv) are checked for every source alike, before anything is downloaded.

The record is kept (``keep_record``, the build's first step; planning only decides it)
for a build without a version source, and removed when an app names its version: from
then on the app manages its version itself, and the record (a few bytes, outside the
installed-environment cache) survives any cache-key change. An unreadable record is ignored with a warning.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base import atomic_write, cache_files, libraries, output, settings
from buildpack.base.numbers import parse_version
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import python_check
from buildpack.installers.record import Choice, Manager
from buildpack.python_version.python_constraints import satisfies
from buildpack.python_version.python_lifecycle import SETTLE_DAYS, Lifecycle, Minor, minor_text
from buildpack.python_version.versions import (
    PIPFILE_LOCK,
    PYTHON_VERSION_FILE,
    RUNTIME_TXT,
    VersionRequest,
    available_text,
    choose,
    describe_source,
    outdated_patch_warning,
    read_requests,
    resolve,
)
from buildpack.runtime.manifest import RuntimeEntry

RECORD_NAME = layout.PYTHON_VERSION_RECORD
IMPLICIT_SOURCES = ("default", "sticky", "requires-python")  # no version source: recorded
RECORD_SCHEMA = 1
_RECORD_MAX_BYTES = 4096


# --- the sticky record ------------------------------------------------------------------------

def read_record(cache_dir: Path) -> Minor | None:
    """The minor recorded by an earlier build; None (with a warning if it is unreadable)."""
    path = cache_dir / RECORD_NAME
    reason = "it is not a record this buildpack wrote"
    try:
        raw = cache_files.read(path, _RECORD_MAX_BYTES)
    except cache_files.Unusable as exc:  # a FIFO, a link, a folder: ``keep_record`` replaces it
        raw, reason = b"", str(exc)
    if raw is None:
        return None
    minor = None
    try:
        data = json.loads(raw.decode("utf-8"))
        recorded = data.get("python_minor") if isinstance(data, dict) else None
        if isinstance(recorded, str) and data.get("schema") == RECORD_SCHEMA:
            major, minor_number = parse_version(recorded, parts=(2,), max_digits=3)
            minor = major, minor_number
    except (ValueError, RecursionError):  # NumberError is a ValueError
        pass
    if minor is None:
        output.warning(
            "Ignoring an unreadable record of this app's Python version",
            f"The build cache's {RECORD_NAME} cannot be used ({reason}), so the\n"
            f"Python version of earlier builds is unknown. This build uses the default and\n"
            f"records it anew. Name the version in {PYTHON_VERSION_FILE} to rely on no record.",
        )
    return minor


def write_record(cache_dir: Path, minor: Minor) -> None:
    """Record ``minor`` atomically (a temp file renamed over the old record)."""
    text = json.dumps({"schema": RECORD_SCHEMA, "python_minor": minor_text(minor)}) + "\n"
    path = cache_dir / RECORD_NAME
    try:
        if cache_files.read(path, _RECORD_MAX_BYTES) == text.encode("utf-8"):
            return
    except cache_files.Unusable:
        pass
    cache_files.make_way(path)  # a folder, a FIFO, a link: not ours to keep
    for stale in atomic_write.leftovers(path):  # left by a build killed mid-write
        stale.unlink(missing_ok=True)
    atomic_write.write_text(path, text)


def forget_record(cache_dir: Path) -> None:
    cache_files.clear(cache_dir / RECORD_NAME)


def keep_record(cache_dir: Path, record: Minor | None) -> None:
    """The build's step for the plan's ``python_record``: record the minor, or forget the
    record when the app names its version (planning only decides; it writes nothing)."""
    if record is None:
        forget_record(cache_dir)
    else:
        write_record(cache_dir, record)


@dataclasses.dataclass(frozen=True)
class PythonChoice:
    runtime: RuntimeEntry
    record: Minor | None  # for ``keep_record``: the minor of a build that named no version


# --- policy checks ------------------------------------------------------------------------------

def _minor_of(entry: RuntimeEntry) -> Minor:
    major, minor, _ = entry.version_tuple
    return major, minor


def _fix(request: VersionRequest, example: str) -> str:
    """How to name another version, for the source that asked."""
    if request.source == RUNTIME_TXT:
        return f"Change {RUNTIME_TXT} to a supported version, for example python-{example}."
    if request.source == PIPFILE_LOCK:
        return (f"Change [requires] python_version in the Pipfile (for example to \"{example}\"),\n"
                f"run `pipenv lock` and commit both files.")
    return f"Write a supported version into {PYTHON_VERSION_FILE}, for example {example}."


def _check_end_of_life(request: VersionRequest, lifecycle: Lifecycle, today: datetime.date,
                       usable: list[RuntimeEntry], example: str) -> None:
    status = lifecycle.status((request.major, request.minor), today)
    if status.kind != "refused":
        return
    if status.end_of_life is None:
        when = "is past its end of life"
    else:
        when = (f"reached its end of life on {status.end_of_life}; builds with it are refused\n"
                f"since {status.refused_from}")
    raise BuildError(
        f"Python {request.minor_text} is end-of-life and no longer supported",
        f"{describe_source(request)} asks for Python {request.text}. Python {request.minor_text} "
        f"{when}.\nIt gets no security fixes, and this buildpack does not build apps with it.\n\n"
        f"{available_text(None, usable)}\n\n{_fix(request, example)}",
        error_id="python-version::end-of-life",
    )


def _eol_warning(request: VersionRequest, lifecycle: Lifecycle, today: datetime.date,
                 example: str) -> tuple[str, str] | None:
    status = lifecycle.status((request.major, request.minor), today)
    upgrade = _fix(request, example).replace("a supported version", "a newer version")
    if status.kind == "grace":
        return (f"Python {request.minor_text} reached its end of life on {status.end_of_life}",
                f"Python {request.minor_text} no longer gets security fixes, and builds with it\n"
                f"will fail from {status.refused_from}. Upgrade the app now.\n{upgrade}")
    if status.kind == "ending":
        return (f"Python {request.minor_text} reaches its end of life on {status.end_of_life}",
                f"After that date it gets no security fixes, and builds with it fail from\n"
                f"{status.refused_from}. Plan the upgrade now.\n{upgrade}")
    return None


def tool_support_error(minor: Minor, manager: Manager) -> BuildError | None:
    """An error if the pinned pip, or the app's package manager, cannot run ``minor``."""
    needs = [("pip", settings.pinned_pip_version(), settings.pip_min_python())]
    tool = manager.tool
    if tool is not None and tool.min_python is not None:
        needs.append((tool.display, tool.version(), tool.min_python))
    for name, version, oldest in needs:
        if minor < oldest:
            return BuildError(
                f"{name} {version} does not support Python {minor_text(minor)}",
                f"The build installs the app's packages with {name} {version}, which runs on\n"
                f"Python {minor_text(oldest)} and newer only; this build would use Python "
                f"{minor_text(minor)}.\n\n"
                f"Upgrade the app to Python {minor_text(oldest)} or newer (write the version into\n"
                f"{PYTHON_VERSION_FILE}).",
                error_id="package-manager::python-too-old",
            )
    return None


# --- no version named: sticky or default, narrowed by requires-python ------------------------

def _constraints(files: AppFiles, dependencies: Choice) -> list[python_check.Declared]:
    """What the app's pyproject.toml (whatever installs the dependencies), Pipfile.lock and
    pylock.toml say about Python (read on the build host when it can)."""
    if not python_check.reads_files(dependencies, files):
        return []
    if not libraries.ready():
        output.detail("(pyproject.toml's Python constraint is checked once the runtime is\n"
                      "installed: the buildpack's libraries come with it on this build.)")
        return []
    return python_check.declared(dependencies, files)


def _satisfies_all(entry: RuntimeEntry, constraints: list[python_check.Declared]) -> bool:
    # A constraint the buildpack does not understand (None) narrows nothing; the check
    # after the choice warns about it.
    return all(satisfies(c.spec, entry.version_tuple, poetry=c.poetry) is not False
               for c in constraints)


def _implicit(files: AppFiles, cache_dir: Path, dependencies: Choice, entries: list[RuntimeEntry],
              usable: list[RuntimeEntry], lifecycle: Lifecycle,
              today: datetime.date) -> tuple[VersionRequest, RuntimeEntry, str, str]:
    """The sticky or default version, narrowed by requires-python; a line on why, and the
    files whose constraint narrowed it (``pyproject.toml``, ``pylock.toml``)."""
    default = lifecycle.default_minor({_minor_of(e) for e in entries}, today)
    if default is None:
        raise BuildError("The runtime store has no Python this build may use",
                         f"{available_text(None, usable)}\n\nAdd a supported Python to the "
                         "store (bin/build-runtime-store).",
                         error_id="python-version::unavailable")
    recorded = read_record(cache_dir)
    base = VersionRequest(*(recorded or default), None, "sticky" if recorded else "default")
    _check_end_of_life(base, lifecycle, today, usable, minor_text(default))
    constraints = _constraints(files, dependencies)
    if not constraints:
        return base, resolve(base, entries, usable), "", ""
    named = " and ".join(dict.fromkeys(c.where.split(" ", 1)[0] for c in constraints))
    fitting = [e for e in usable if _satisfies_all(e, constraints)]
    said = "; ".join(f"{c.where} says {c.text!r}" for c in constraints)
    if not fitting:
        raise BuildError(
            "No Python in the runtime store satisfies the app's Python constraint",
            f"{said}, and none of the versions this build may use satisfies it.\n\n"
            f"{available_text(None, usable)}\n\n"
            f"Add a Python that satisfies it to the store, {constraints[0].fix}.",
            error_id="python-version::unavailable")
    same = [e for e in fitting if base.admits(e.version_tuple)]
    if same:
        return (base, max(same, key=lambda e: e.version_tuple),
                f"{said}: {base.minor_text} satisfies it.", named)
    chosen = max(fitting, key=lambda e: e.version_tuple)
    return (VersionRequest(*_minor_of(chosen), None, "requires-python"), chosen,
            f"{said}: Python {base.minor_text} ({base.source}) does not satisfy it.", named)


def _log_implicit(request: VersionRequest, runtime: RuntimeEntry, note: str, lifecycle: Lifecycle,
                  minors: set[Minor], today: datetime.date, named: str = "") -> None:
    default = lifecycle.default_minor(minors, today)
    shown = request.minor_text
    if request.source == "sticky":
        output.step(f"No Python version specified; using Python {shown} as on this app's "
                    f"earlier builds (python-{runtime.label})")
        if note:
            output.detail(note)
        if default is not None and default != (request.major, request.minor):
            output.detail(f"The default for new apps is now {minor_text(default)}. This app stays "
                          f"on {shown} (recorded in the\nbuild cache) so that a push never "
                          f"changes its Python minor version by surprise.\n"
                          f"To upgrade, write {minor_text(default)} into {PYTHON_VERSION_FILE}; "
                          f"to keep {shown} for good, write {shown}.")
        else:
            output.detail(f"Pin it by writing {shown} into {PYTHON_VERSION_FILE}.")
        return
    if request.source == "requires-python":
        output.step(f"No Python version specified; using Python {shown}, the newest the store "
                    f"has that satisfies {named or 'pyproject.toml'} (python-{runtime.label})")
        output.detail(note)
    else:
        output.step(f"No Python version specified; using the default, Python {shown} "
                    f"(python-{runtime.label})")
        output.detail(f"No {RUNTIME_TXT}, {PYTHON_VERSION_FILE} or {PIPFILE_LOCK} names a version. "
                      f"The default\nis the newest minor in the runtime store released at least "
                      f"{SETTLE_DAYS} days ago.")
        if note:
            output.detail(note)
        upcoming = lifecycle.next_default(minors, today)
        if upcoming is not None:
            output.detail(f"Python {minor_text(upcoming[0])} becomes the default for new apps on "
                          f"{upcoming[1]}.")
    output.detail(f"This app stays on {shown} on later builds, also when the default moves on.\n"
                  f"To choose a version, write it into {PYTHON_VERSION_FILE} (for example {shown}).")


def _log_explicit(request: VersionRequest, runtime: RuntimeEntry) -> None:
    if request.source == RUNTIME_TXT:
        output.step(f"Using Python version specified in {RUNTIME_TXT} (python-{request.text})")
        output.detail(f"Tip: {PYTHON_VERSION_FILE} holding {request.minor_text} is the recommended "
                      f"form (other Python tools read it too); {RUNTIME_TXT} keeps working.")
    else:
        output.step(f"Using Python {request.text} specified in {request.source}")
    if request.patch is None:
        output.detail(f"{request.text} means the newest {request.text} release in the store: "
                      f"{runtime.label}")
    if runtime.variant:
        output.detail(f"python-{runtime.label} is the free-threaded build (PEP 703): Python "
                      f"{request.minor_text} without the GIL.\nIts end of life, requires-python "
                      f"and the package managers' Python checks are those of {request.minor_text}.")


# --- the decision ---------------------------------------------------------------------------------

def _workspace_requests(files: AppFiles, dependencies: Choice) -> list[VersionRequest]:
    """A uv workspace member without version files of its own: the workspace root's
    (named by their path from the repository root, e.g. ``.python-version`` at the root)."""
    root = dependencies.workspace_root
    if root is None or root == files.app_dir:
        return []
    where = root.relative_to(files.root).as_posix()
    prefix = "" if where == "." else f"{where}/"
    return [dataclasses.replace(r, source=f"{prefix}{r.source} (the uv workspace root's)")
            for r in read_requests(AppFiles(files.root, root))]


def choose_runtime(files: AppFiles | Path, cache_dir: Path, dependencies: Choice,
                   entries: list[RuntimeEntry], today: datetime.date | None = None,
                   lifecycle: Lifecycle | None = None) -> PythonChoice:
    """The runtime for this build (see the module docstring), and the record to keep;
    logs the decision. Reads the record, writes nothing."""
    today = today or datetime.date.today()
    lifecycle = lifecycle or Lifecycle.from_vendor()
    files = AppFiles.of(files)
    requests = read_requests(files) or _workspace_requests(files, dependencies)
    request, overridden = choose(requests)
    # A free-threaded build (``variant``) is only for an app that asks for it (3.13t): the
    # default, the sticky minor and requires-python choose among the default builds.
    plain = [e for e in entries if not e.variant]
    minors = {_minor_of(e) for e in plain}
    usable_minors = set(lifecycle.usable(minors | {_minor_of(e) for e in entries}, today))
    usable = [e for e in entries if _minor_of(e) in usable_minors]
    default = lifecycle.default_minor(minors, today)
    example = minor_text(default) if default is not None else "3.14"
    if request is None:
        request, runtime, note, named = _implicit(files, cache_dir, dependencies, plain,
                                                  [e for e in usable if not e.variant], lifecycle, today)
        _log_implicit(request, runtime, note, lifecycle, minors, today, named)
    else:
        _check_end_of_life(request, lifecycle, today, usable, example)
        runtime = resolve(request, entries, usable)
        _log_explicit(request, runtime)
    for other in overridden:
        output.warning(
            f"{other.source} is ignored: {request.source} decides",
            f"{request.source} asks for {request.written} and {other.source} for {other.written}.\n"
            f"{request.source} comes first, so {other.source} is ignored. Delete one of them\n"
            f"({PYTHON_VERSION_FILE} is the recommended file) or make them name the same version.")
    for req in requests:
        if req.ignored_lines:
            lines = "\n".join(f"    line {n}: {text}" for n, text in req.ignored_lines)
            output.warning(f"{req.source} names more than one version",
                           f"Only its first version line counts; these lines are ignored:\n\n"
                           f"{lines}\n\nDelete them (or turn them into # comments).")
    error = tool_support_error(_minor_of(runtime), dependencies.manager)
    if error is not None:
        raise error
    for found in (outdated_patch_warning(request, runtime, entries),
                  _eol_warning(request, lifecycle, today, example)):
        if found is not None:
            output.warning(*found)
    return PythonChoice(runtime, _minor_of(runtime) if request.source in IMPLICIT_SOURCES else None)
