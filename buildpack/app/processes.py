"""The app's process types: its Procfile, else a default ``web`` process.

The platform runs the Procfile at the root of the slug when there is one, and
otherwise the ``default_process_types`` of bin/release. Those are:

- the types of the app folder's Procfile, for an ``APP_BASE`` app (the platform does
  not look there; the processes start in that folder, see ``app_base``);
- without any Procfile, a default ``web`` (``default_web``), inferred from the app's files
  and what its dependencies installed, in this order:

  1. Django (``manage.py``): ``gunicorn <project>.wsgi`` when gunicorn is installed.
  2. One web application object created at module level in a top-level module or a
     first-level package (``app = Flask(__name__)``, ``api = FastAPI()``,
     ``app = Starlette(...)``), its framework installed: Flask (WSGI) with gunicorn as
     ``gunicorn module:app``; FastAPI/Starlette (ASGI) with gunicorn and uvicorn as
     ``gunicorn -k <uvicorn worker> module:app``, with uvicorn alone as
     ``uvicorn module:app --host 0.0.0.0 --port $PORT``. Two such objects are a tie:
     no default, and the log names both.
     Also one package deeper, in a folder that is not a package itself (a uv
     workspace member: ``backend/app/main.py``), served from that folder
     (``gunicorn --chdir backend``, ``uvicorn --app-dir backend``).
  3. Exactly one top-level module imports Streamlit, installed:
     ``streamlit run <file> --server.port $PORT --server.address 0.0.0.0``.
  4. Exactly one top-level module imports Gradio, installed: ``python <file>`` with
     ``GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=$PORT`` (Gradio's own variables).
  5. Exactly one console script installed from the app's own code (an entry of an
     installed ``entry_points.txt`` whose module is in the app: ``[project.scripts]``)
     that serves HTTP (its module reads ``PORT`` or starts a server): ``<script>``; one
     that does not is named in the log as the command to put into a Procfile.
  6. Exactly one of ``ENTRY_POINTS`` is a script (it has an
     ``if __name__ == "__main__":`` block): ``python <that file>``.

  gunicorn binds to ``0.0.0.0:$PORT`` by itself when ``PORT`` is set; uvicorn is told.

Compile logs which applies, and that a Procfile overrides a default. Release works the
same out from the slug, so both always agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from buildpack.app import django_project, procfile
from buildpack.app.app_files import AppFiles
from buildpack.app.procfile import PROCFILE_NAME
from buildpack.base import output
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import installed

ENTRY_POINTS = ("app.py", "main.py", "server.py")
# Folders that hold no app code to serve (searched one level deep otherwise).
_NOT_APP_FOLDERS = frozenset({"node_modules", "venv", "env", "tests", "test", "docs", "build",
                              "dist", "site-packages", "__pycache__", "migrations", "static"})
# A module that serves HTTP: reads PORT from the environment, or starts a server.
_SERVES_HTTP = re.compile(
    r"""environ(?:\.get)?\s*[\[(]\s*["']PORT["']|getenv\s*\(\s*["']PORT["']"""
    r"|\b(?:uvicorn|hypercorn|waitress|granian)\.(?:run|serve)\s*\(|\bweb\.run_app\s*\("
    r"|\bmake_server\s*\(|\bHTTPServer\s*\(|\bserve_forever\s*\(")
_ENTRY_POINTS_MAX_BYTES = 256 * 1024
_SHELL_SAFE = re.compile(r"[\w./-]+")
# ``app = Flask(__name__)``, ``api: FastAPI = fastapi.FastAPI(title=...)`` at module level.
_APP_OBJECT = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s*(?::\s*[\w.]+\s*)?=\s*(?:[A-Za-z_]\w*\.)?"
    r"(?P<cls>Flask|FastAPI|Starlette)\s*\(", re.M)
_FRAMEWORKS = {"Flask": ("flask", "WSGI"), "FastAPI": ("fastapi", "ASGI"),
               "Starlette": ("starlette", "ASGI")}
_PACKAGE_MODULES = ("__init__.py", "app.py", "main.py", "wsgi.py", "asgi.py", "api.py", "server.py")
_NOT_APP_MODULES = re.compile(r"^(test_.*|.*_test|conftest|setup|manage|noxfile|fabfile)\.py$")
MAX_MODULES = 200


@dataclass(frozen=True)
class Default:
    """The default ``web`` command (``None`` when there is none) and why."""

    command: str | None
    reason: str


def warn_line_endings(files: AppFiles | Path, folder: Path | None = None) -> None:
    """Warn about a BOM or CRLF: we read past them, but herokuish/Dokku do not."""
    files = AppFiles.of(files)
    data = files.bytes((folder or files.root) / PROCFILE_NAME, "procfile")
    if data is None:
        return
    if data.startswith(b"\xef\xbb\xbf") or b"\r\n" in data:
        output.warning(
            "The Procfile has Windows line endings or a byte-order mark",
            "This buildpack reads it as intended, but some platforms (herokuish, Dokku)\n"
            "keep the carriage return in each command or miss the first process type.\n"
            "Save the Procfile as UTF-8 without a BOM and with LF line endings\n"
            "(e.g. `git config core.autocrlf input`, then re-commit it).",
        )


@dataclass(frozen=True)
class Procfiles:
    """The app's Procfiles, read and parsed once (at plan time; ``bin/release``, a
    process of its own, reads them once more): the one at the root of BUILD_DIR and, for
    an ``APP_BASE`` app, the one in its folder."""

    root: dict[str, str] | None
    in_app: dict[str, str] | None
    base: str

    @property
    def declared(self) -> dict[str, str] | None:
        """The types the platform runs: the root's Procfile first; ``None`` without one."""
        return self.root if self.root is not None else self.in_app


def read(files: AppFiles | Path, base: str) -> Procfiles:
    """The validated Procfiles (``files`` reads BUILD_DIR; a path: a reader of that folder)."""
    files = AppFiles.of(files)
    return Procfiles(procfile.load_procfile(files, files.root),
                     procfile.load_procfile(files, files.root / base) if base else None, base)


def _read_module(app_dir: Path, path: Path) -> str | None:
    """A module's text (bounded), or None for links out of the app, big or odd files."""
    try:
        data = AppFiles(app_dir).bytes(path, "module")
    except BuildError:
        return None
    return None if data is None else data.decode("utf-8", "replace")


def _is_script(app_dir: Path, path: Path) -> bool:
    text = _read_module(app_dir, path)
    return text is not None and "__main__" in text


@dataclass(frozen=True)
class WebApp:
    """A web application object found in a module: ``module:name`` of ``framework``."""

    module: str
    name: str
    framework: str
    path: str
    folder: str = ""  # served from this folder of the app (a package one level down)

    @property
    def target(self) -> str:
        return f"{self.module}:{self.name}"

    def describe(self) -> str:
        return f"{self.path} creates the {self.framework} app `{self.name}`"


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                  and not p.name.startswith(".") and p.name not in _NOT_APP_FOLDERS)


def _package_modules(root: Path) -> list[tuple[str, Path]]:
    """(module name, file): the usual modules of ``root``'s first-level packages."""
    found: list[tuple[str, Path]] = []
    for package in _folders(root):
        if not package.name.isidentifier() or not (package / "__init__.py").is_file():
            continue
        for name in _PACKAGE_MODULES:
            module = package.name if name == "__init__.py" else f"{package.name}.{name[:-3]}"
            found.append((module, package / name))
    return found


def _top_modules(app_dir: Path) -> list[tuple[str, Path]]:
    return [(path.stem, path) for path in sorted(app_dir.glob("*.py"))
            if not _NOT_APP_MODULES.match(path.name) and path.stem.isidentifier()]


def _candidate_modules(app_dir: Path) -> list[tuple[str, str, Path]]:
    """(folder, module name, file) for top-level modules, first-level packages' usual
    modules and, one level down, those of the packages in folders that are not packages
    (``backend/app/main.py``: folder ``backend``, module ``app.main``)."""
    found = [("", module, path) for module, path in _top_modules(app_dir) + _package_modules(app_dir)]
    for folder in _folders(app_dir):
        if not (folder / "__init__.py").exists() and _SHELL_SAFE.fullmatch(folder.name):
            found += [(folder.name, module, path) for module, path in _package_modules(folder)]
        if len(found) >= MAX_MODULES:
            break
    return found[:MAX_MODULES]


def find_web_apps(app_dir: Path, prefix: Path) -> list[WebApp]:
    """The web application objects the app's modules create, for frameworks installed;
    those of the shallowest level that has any."""
    apps = []
    for folder, module, path in _candidate_modules(app_dir):
        text = _read_module(app_dir, path)
        if text is None:
            continue
        for match in _APP_OBJECT.finditer(text):
            framework = match.group("cls")
            if installed(prefix, _FRAMEWORKS[framework][0]):
                apps.append(WebApp(module, match.group("name"), framework,
                                   path.relative_to(app_dir).as_posix(), folder))
    shallow = [a for a in apps if not a.folder]
    return shallow or apps


def _uvicorn_worker(prefix: Path) -> str | None:
    if installed(prefix, "uvicorn_worker"):
        return "uvicorn_worker.UvicornWorker"
    if any(prefix.glob("lib/python3*/site-packages/uvicorn/workers.py")):
        return "uvicorn.workers.UvicornWorker"
    return None


def _serve(web: WebApp, prefix: Path) -> Default:
    """The command that serves ``web``; ``command`` is None when no server is installed."""
    gunicorn = (prefix / "bin" / "gunicorn").is_file()
    why = web.describe()
    chdir = f"--chdir {web.folder} " if web.folder else ""
    app_dir = f" --app-dir {web.folder}" if web.folder else ""
    if _FRAMEWORKS[web.framework][1] == "WSGI":
        if gunicorn:
            return Default(f"gunicorn {chdir}{web.target}", f"{why}, and gunicorn is installed")
        return Default(None, f"{why}, but gunicorn is not in its requirements; with it, "
                             f"the default is `gunicorn {chdir}{web.target}`")
    worker = _uvicorn_worker(prefix)
    if gunicorn and worker:
        return Default(f"gunicorn -k {worker} {chdir}{web.target}",
                       f"{why} (ASGI), and gunicorn and uvicorn are installed: uvicorn "
                       "workers under gunicorn")
    uvicorn = f"uvicorn {web.target}{app_dir} --host 0.0.0.0 --port $PORT"
    if installed(prefix, "uvicorn"):
        return Default(uvicorn, f"{why} (ASGI), and uvicorn is installed")
    return Default(None, f"{why} (ASGI), but uvicorn is not in its requirements; with it, "
                         f"the default is `{uvicorn}`")


def _importing(app_dir: Path, package: str) -> list[str]:
    """The app's top-level modules that import ``package``."""
    pattern = re.compile(rf"^\s*(?:import|from)\s+{package}\b", re.M)
    return [path.name for _, path in _top_modules(app_dir)[:MAX_MODULES]
            if pattern.search(_read_module(app_dir, path) or "")]


def _ui_app(app_dir: Path, prefix: Path) -> Default | None:
    """Streamlit or Gradio: one top-level module imports it, and it is installed."""
    for package, name in (("streamlit", "Streamlit"), ("gradio", "Gradio")):
        files = _importing(app_dir, package)
        if not files or not installed(prefix, package):
            continue
        if len(files) > 1:
            return Default(None, f"{' and '.join(files[:3])} each import {name}: the buildpack "
                                 "does not guess which one to serve")
        file = files[0]
        if not _SHELL_SAFE.fullmatch(file):
            return Default(None, f"The {name} app's file name {file!r} has unusual characters")
        if package == "streamlit":
            return Default(f"streamlit run {file} --server.port $PORT --server.address 0.0.0.0",
                           f"{file} is a Streamlit app, and streamlit is installed")
        return Default(f"GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=$PORT python {file}",
                       f"{file} is a Gradio app, and gradio is installed (Gradio reads its "
                       "address and port from these variables)")
    return None


@dataclass(frozen=True)
class Script:
    """A console script installed from the app's own code (``[project.scripts]``)."""

    name: str
    target: str  # module:function
    module_path: Path


def _module_file(app_dir: Path, module: str) -> Path | None:
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    for base in (app_dir, app_dir / "src"):
        for path in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if path.is_file() and not path.is_symlink():
                return path
    return None


def app_scripts(app_dir: Path, prefix: Path) -> list[Script]:
    """The console scripts of the installed distributions whose module is in the app."""
    import configparser  # not at import: read only for an app without a Procfile

    found = []
    listings = sorted(prefix.glob("lib/python3*/site-packages/*.dist-info/entry_points.txt"))
    for listing in listings[:MAX_MODULES]:
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment, method-assign]  # names keep their case
        try:
            with open(listing, encoding="utf-8", errors="replace") as fh:
                parser.read_string(fh.read(_ENTRY_POINTS_MAX_BYTES))
        except (OSError, configparser.Error):
            continue
        if not parser.has_section("console_scripts"):
            continue
        for name, target in parser.items("console_scripts"):
            module = target.split(":", 1)[0].strip()
            path = _module_file(app_dir, module)
            if path is not None and _SHELL_SAFE.fullmatch(name) and (prefix / "bin" / name).is_file():
                found.append(Script(name, target.strip(), path))
    return found


def _serves_http(app_dir: Path, script: Script) -> bool:
    return bool(_SERVES_HTTP.search(_read_module(app_dir, script.module_path) or ""))


def _script(app_dir: Path, prefix: Path) -> Default | None:
    scripts = app_scripts(app_dir, prefix)
    if len(scripts) != 1:
        return None
    script = scripts[0]
    where = (f"the app's only console script `{script.name}` ([project.scripts]: "
             f"{script.target})")
    if _serves_http(app_dir, script):
        return Default(script.name, f"{where} serves HTTP ({script.module_path.relative_to(app_dir)} "
                                    "reads PORT or starts a server)")
    return Default(None, f"{where} does not look like a web server (its module reads no PORT "
                         f"and starts no server). If it is the app's process, put it into a "
                         f"Procfile: `web: {script.name}`, or `worker: {script.name}`")


def _django(app_dir: Path, manage_py: Path, prefix: Path, files: AppFiles) -> Default:
    module = django_project.wsgi_module(manage_py, files)
    if module is None:
        return Default(None, f"{manage_py.relative_to(app_dir)} is there, but no "
                             "<project>/wsgi.py next to the settings was found")
    if not (prefix / "bin" / "gunicorn").is_file():
        return Default(None, "This is a Django app, but gunicorn is not in its "
                             f"requirements; with it, the default is `gunicorn {module}`")
    folder = manage_py.parent.relative_to(app_dir).as_posix()
    if folder != "." and not _SHELL_SAFE.fullmatch(folder):
        return Default(None, f"The Django project's folder {folder!r} has unusual characters")
    chdir = "" if folder == "." else f"--chdir {folder} "
    return Default(f"gunicorn {chdir}{module}",
                   f"Django app ({module.replace('.', '/')}.py) with gunicorn installed")


def default_web(app_dir: Path, prefix: Path, files: AppFiles | None = None) -> Default:
    """The ``web`` process an app without a Procfile gets, from its files and ``prefix``."""
    files = files or AppFiles(app_dir)
    manage_py = django_project.find_manage_py(app_dir)
    if manage_py is not None:
        return _django(app_dir, manage_py, prefix, files)
    webs = find_web_apps(app_dir, prefix)
    if len(webs) > 1:
        return Default(None, " and ".join(w.describe() for w in webs[:3])
                       + ": the buildpack does not guess which one to serve")
    unserved = None
    if webs:
        served = _serve(webs[0], prefix)
        if served.command:
            return served
        unserved = served.reason
    for rule in (_ui_app, _script):
        found = rule(app_dir, prefix)
        if found is not None and (found.command or unserved is None):
            if found.command:
                return found
            unserved = found.reason
    scripts = [name for name in ENTRY_POINTS if _is_script(app_dir, app_dir / name)]
    if len(scripts) == 1:
        return Default(f"python {scripts[0]}", f"{scripts[0]} is the app's only entry point"
                       + (f"; {unserved}" if unserved else ""))
    if unserved:
        return Default(None, unserved)
    if scripts:
        return Default(None, f"{' and '.join(scripts)} could each be the entry point")
    return Default(None, f"No entry point found (no Django, Flask, FastAPI or Starlette app, "
                         f"and none of {', '.join(ENTRY_POINTS)} is a script)")


def release_types(procfiles: Procfiles, files: AppFiles, prefix: Path) -> dict[str, str]:
    """``default_process_types`` for bin/release and CNB's ``launch.toml``: the declared
    types, else the app's default ``web`` (``files`` reads BUILD_DIR)."""
    if procfiles.declared is not None:
        return procfiles.declared
    default = default_web(files.root / procfiles.base, prefix, files)
    return {"web": default.command} if default.command else {}


def log_discovery(procfiles: Procfiles, files: AppFiles, prefix: Path) -> None:
    """The "Discovering process types" step: what the platform will run, and defaults."""
    output.step("Discovering process types")
    root, base, declared = procfiles.root, procfiles.base, procfiles.declared
    if declared is not None:
        where = "" if root is not None or not base else f" ({base}/{PROCFILE_NAME})"
        output.detail(f"Procfile declares types -> {', '.join(declared) or '(none)'}{where}")
        if base and root is not None:
            _warn_root_procfile(base, root, procfiles.in_app is not None)
        return
    output.detail(f"No {PROCFILE_NAME}" + (f" (neither at the root nor in {base}/)" if base else ""))
    default = default_web(files.root / base, prefix, files)
    if default.command:
        output.detail("Default types for buildpack-python -> web")
        output.detail(f"web: {default.command}")
        output.detail(f"({default.reason}.)\n"
                      "This is a default: add a Procfile to choose the command yourself.")
        return
    output.warning(
        "No Procfile found",
        f"The app has no Procfile and no default web process: {default.reason}.\n"
        "Nothing will be started. Add a Procfile to the app, for example:\n\n"
        f"    {procfile.EXAMPLE_LINE}")


def _warn_root_procfile(base: str, root: dict[str, str], app_has_one: bool) -> None:
    if app_has_one:
        output.warning(
            "Two Procfiles: the one at the repository root is used",
            f"The platform runs the Procfile at the root of the repository, so\n"
            f"{base}/{PROCFILE_NAME} is ignored. Keep only one of them.")
    stale = [name for name, command in root.items() if f"cd {base}" in command]
    if stale:
        output.warning(
            f"The Procfile changes into {base}/ although processes already start there",
            f"With APP_BASE={base}, every process starts in {base}/, so `cd {base}` in the\n"
            f"Procfile's {', '.join(stale)} command(s) fails. Remove it from the command.")
