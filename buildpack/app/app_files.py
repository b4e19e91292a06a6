"""The one way the build reads the app's files, and writes into BUILD_DIR.

The app is untrusted input: a push (or an uploaded tarball) can make ``Procfile`` a
link to ``/etc/passwd``, an ``-r`` include a FIFO or ``/dev/zero``, ``.heroku`` a link
to a folder of the build server. So:

- **Reading** goes through ``AppFiles``: a file is read only when it is a regular file
  whose real path (links resolved) is inside BUILD_DIR, no larger than the bound for its
  kind (``LIMITS``); it is opened without blocking (a FIFO cannot hang the build) and
  read once (later reads of the same path come from memory). Anything else is refused
  with an error that names the file. Parsers get the text, never the path.
- **Writing** goes through ``write_text``/``make_dirs``/``remove``: every folder on the
  way is opened with ``O_NOFOLLOW`` (a link or a file where a folder belongs is an
  error), and a file is created beside its target and renamed over it, which replaces a
  link instead of writing through it.
"""
from __future__ import annotations

import builtins
import errno
import os
import stat
from pathlib import Path

from buildpack.base.fs import rmtree
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import APP_BASE_RECORD, PROFILE_DIR, PROFILE_NAME, PYTHON_DIR

KIB = 1024
MIB = 1024 * KIB
# The largest file of each kind the build reads. Generous: real files are far smaller.
LIMITS = {
    "version": 64 * KIB,        # runtime.txt, .python-version
    "procfile": 1 * MIB,
    "requirements": 4 * MIB,    # requirements.txt and its -r/-c includes
    "manifest": 4 * MIB,        # pyproject.toml, Pipfile, setup.py, setup.cfg
    "lock": 64 * MIB,           # Pipfile.lock, poetry.lock, uv.lock
    "source": 16 * MIB,         # app code looked at (manage.py, app.py, settings)
    "module": 256 * KIB,        # modules scanned for a web app object (skipped if larger)
}

# What the buildpack itself writes into BUILD_DIR (checked at plan time: no link or
# misplaced file on the way).
WRITTEN_BY_BUILDPACK = (str(PYTHON_DIR), str(APP_BASE_RECORD), str(PROFILE_DIR / PROFILE_NAME))

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def is_inside(root: Path, path: Path) -> bool:
    """True if ``path`` (links resolved) is ``root`` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


class AppFiles:
    """Bounded, link-checked, read-once access to the files under ``root`` (BUILD_DIR).

    ``app_dir`` is the app's folder (``root`` itself, or its ``APP_BASE`` folder).
    """

    def __init__(self, root: Path, app_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.app_dir = Path(root) if app_dir is None else Path(app_dir)
        self._real_root = os.path.realpath(root)
        self._read: dict[tuple[str, str], bytes | None] = {}

    @classmethod
    def of(cls, files: AppFiles | Path) -> AppFiles:
        """``files`` itself, or a reader of the folder ``files`` (links may not leave it)."""
        return files if isinstance(files, AppFiles) else cls(files)

    # -- reading ---------------------------------------------------------------------

    def bytes(self, path: Path, kind: str) -> bytes | None:
        """The contents of ``path``; ``None`` when nothing is there. BuildError when the
        path is a link out of the app, not a regular file, or larger than ``LIMITS[kind]``."""
        cache_key = (os.path.abspath(path), kind)
        if cache_key not in self._read:
            self._read[cache_key] = self._load(Path(path), kind)
        return self._read[cache_key]

    def text(self, path: Path, kind: str) -> str | None:
        """``bytes`` decoded as UTF-8 (a BOM dropped); BuildError naming the line if not UTF-8."""
        data = self.bytes(path, kind)
        if data is None:
            return None
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            name = _shown(self.root, Path(path))
            raise BuildError(
                f"{name} is not UTF-8 text (line {line})",
                f"Line {line} of {name} has the byte {data[exc.start:exc.start + 1]!r}, which is\n"
                "not valid UTF-8. Save the file as UTF-8 (most editors have an encoding\n"
                "option) and push again.",
                error_id="app-file::not-utf8") from None

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a regular file inside the app (never an error)."""
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return False
        return stat.S_ISREG(st.st_mode) and self._inside(os.path.realpath(path))

    def head(self, path: Path, size: int) -> builtins.bytes | None:
        """At most the first ``size`` bytes of ``path`` if it is a regular file inside the
        app, else None (never an error: for a guess about a file the build does not
        otherwise read, such as a misspelled version file). Not kept in memory."""
        if not self.is_file(path):
            return None
        try:
            fd = os.open(os.path.realpath(path), _OPEN_FLAGS)
        except OSError:
            return None
        try:
            return os.read(fd, size) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        finally:
            os.close(fd)

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)

    def _load(self, path: Path, kind: str) -> builtins.bytes | None:
        limit = LIMITS[kind]
        name = _shown(self.root, path)
        if not os.path.lexists(path):
            return None
        real = os.path.realpath(path)
        if not self._inside(real):
            if not self._inside(os.path.realpath(Path(os.path.abspath(path)).parent)):
                raise BuildError(
                    f"{path.name} is outside the app",
                    f"The build was asked to read {os.path.abspath(path)}, which is not part of the\n"
                    "app (an `-r`/`-c` line with `..`, or a folder link). Keep every file the build\n"
                    "reads inside the app's directory, and refer to it with a relative path.",
                    error_id="app-file::outside-app")
            raise BuildError(
                f"{name} is a link to a file outside the app",
                f"{name} points to {os.readlink(path)!r}, which is outside the app's directory.\n"
                "The build reads only files that are part of the app. Commit the file itself\n"
                "instead of a symbolic link.",
                error_id="app-file::outside-app")
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except FileNotFoundError:
            raise _not_regular(name, "a link to a file that does not exist") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _not_regular(name, "a link that changed while it was read") from None
            raise BuildError(f"{name} cannot be read",
                             f"Reading {name} failed: {exc.strerror or exc}.\n"
                             "Make it a regular, readable file and push again.",
                             error_id="app-file::unreadable") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                what = ("a directory" if stat.S_ISDIR(st.st_mode) else
                        "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                        "a device file" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                        else "a special file")
                raise _not_regular(name, what)
            if st.st_size > limit:
                raise _too_large(name, st.st_size, limit)
            chunks = []
            left = limit + 1
            while left > 0:
                chunk = os.read(fd, min(left, MIB))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
            if len(data) > limit:
                raise _too_large(name, len(data), limit)
            return data
        finally:
            os.close(fd)


def _not_regular(name: str, what: str) -> BuildError:
    return BuildError(
        f"{name} is not a regular file",
        f"{name} is {what}. The build reads only regular files of the app.\n"
        "Make it a plain file, or remove it.",
        error_id="app-file::not-regular")


def _too_large(name: str, size: int, limit: int) -> BuildError:
    return BuildError(
        f"{name} is too large",
        f"{name} is {size} bytes or more; the build reads at most {limit} bytes from\n"
        "a file of its kind. Check that it is the file you meant to commit.",
        error_id="app-file::too-large")


# -- writing into BUILD_DIR ----------------------------------------------------------

def _in_the_way(rel: str, what: str) -> BuildError:
    return BuildError(
        f"{rel} in the app is {what}",
        f"The buildpack writes {rel} itself, and will not write through {what}.\n"
        f"Remove {rel} from the app's repository (`git rm -r --cached {rel}`, and add it\n"
        "to .gitignore), then push again.",
        error_id="app-file::in-the-way")


def _open_dirs(root: Path, parts: list[str], create: bool) -> int:
    """An fd of ``root/parts...``, each folder opened without following links."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            rel = "/".join(parts[: index + 1])
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.lstat(part, dir_fd=fd)
                    raise _in_the_way(rel, "a symbolic link" if stat.S_ISLNK(st.st_mode)
                                      else "a file, not a folder") from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _split(rel: str | Path) -> list[str]:
    parts = [p for p in Path(rel).as_posix().split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"not a path inside the build dir: {rel}")
    return parts


def check_writable(root: Path, rel: str | Path) -> None:
    """BuildError if writing ``rel`` would have to go through a link or a misplaced file
    (checked at plan time, before anything is written)."""
    parts = _split(rel)
    path = Path(root)
    for index, part in enumerate(parts[:-1]):  # the folders on the way
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        shown = "/".join(parts[: index + 1])
        if stat.S_ISLNK(st.st_mode):
            raise _in_the_way(shown, "a symbolic link")
        if not stat.S_ISDIR(st.st_mode):
            raise _in_the_way(shown, "a file, not a folder")


def make_dirs(root: Path, rel: str | Path) -> Path:
    """Create ``root/rel`` (and its parents) as real folders; never through a link."""
    os.close(_open_dirs(Path(root), _split(rel), create=True))
    return Path(root) / rel


def write_text(root: Path, rel: str | Path, text: str, mode: int = 0o644) -> Path:
    """Create or replace the file ``root/rel``: written beside it and renamed over it, so
    a link there is replaced, never followed."""
    parts = _split(rel)
    fd = _open_dirs(Path(root), parts[:-1], create=True)
    try:
        tmp = f".{parts[-1]}.{os.getpid()}.tmp"
        try:
            os.unlink(tmp, dir_fd=fd)
        except FileNotFoundError:
            pass
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      mode, dir_fd=fd)
        try:
            os.fchmod(out, mode)
            with os.fdopen(out, "w", encoding="utf-8") as handle:
                handle.write(text)
            try:
                os.rename(tmp, parts[-1], src_dir_fd=fd, dst_dir_fd=fd)
            except IsADirectoryError:
                raise _in_the_way("/".join(parts), "a folder, not a file") from None
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except FileNotFoundError:
                pass
            raise
    finally:
        os.close(fd)
    return Path(root, *parts)


def remove(root: Path, rel: str | Path) -> bool:
    """Remove ``root/rel`` (a file, a link or a whole folder) without following any link;
    False when nothing was there."""
    parts = _split(rel)
    try:
        fd = _open_dirs(Path(root), parts[:-1], create=False)
    except FileNotFoundError:
        return False
    try:
        try:
            st = os.lstat(parts[-1], dir_fd=fd)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            rmtree(Path(root, *parts))
        else:
            os.unlink(parts[-1], dir_fd=fd)
        return True
    finally:
        os.close(fd)




