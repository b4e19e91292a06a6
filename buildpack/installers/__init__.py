"""How the app declares its dependencies, and installing them.

``choose(app_dir)`` runs at plan time (pure checks on the app's files, so a bad
combination fails the push before anything is written); ``check_python(choice,
version)`` then compares the chosen Python with what those files say about Python;
``install(choice, ctx)`` runs the chosen installer against the provisioned interpreter.

| manager | installs with                                   | files                        |
|---------|-------------------------------------------------|------------------------------|
| pip     | ``uv pip install -r requirements.txt`` (or pip) | requirements.txt             |
| pip     | ``pip install .`` (the app is a package)        | pyproject.toml / setup.py    |
| pipenv  | ``pipenv install --deploy --system``            | Pipfile, Pipfile.lock        |
| poetry  | ``poetry sync --only main``                     | pyproject.toml, poetry.lock  |
| uv      | ``uv sync --locked --no-default-groups``        | pyproject.toml, uv.lock      |
| pdm     | ``pdm sync --prod`` (after ``pdm lock --check``) | pyproject.toml, pdm.lock     |

A CI build (``bin/test-compile``, ``choose(app_dir, dev=True)``) installs the dev
dependencies too: Pipenv ``--dev``, Poetry ``--all-groups`` (instead of ``--only main``),
uv ``--all-groups`` (instead of ``--no-default-groups``), PDM ``--dev -G :all`` (instead
of ``--prod``), and for pip the app's
``requirements-test.txt`` after its requirements.

requirements.txt is installed by uv unless ``PYTHON_INSTALLER=pip`` or the file uses
a pip feature uv lacks (``uv_pip``): ``choose`` picks the record of that engine
(``managers.ENGINES``; pylock.toml likewise), and ``install`` runs the record's install function, whatever the
record; a CI build's ``requirements-test.txt`` is installed after it by the record's
engine (uv too falls back to pip for that file's pip-only features). Pipenv, Poetry,
uv and PDM are pinned in ``vendor/tools`` and installed into CACHE_DIR
(``pinned_tools``). Whatever the manager, the result is then cleaned of references to
the build directory (``slug_cleanup``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base import libraries
from buildpack.base.output import BuildError
from buildpack.base.redact import url_secrets
from buildpack.installers import (
    free_threaded,
    manager_files,
    pinned_tools,
    pip,
    python_check,
    selection,
    slug_cleanup,
    tool_versions,
    uv,
    uv_pip,
)
from buildpack.installers.context import InstallContext
from buildpack.installers.managers import ENGINES, NO_DEPENDENCIES, PIPENV
from buildpack.installers.record import Choice, Manager

__all__ = ["Choice", "InstallContext", "check_python", "check_tools", "choose", "install",
           "prune_uv_cache", "trim_caches"]


def choose(files: AppFiles | Path, dev: bool = False, installer: str | None = None,
           groups: str | None = None, extras: str | None = None,
           pylock: str | None = None) -> Choice:
    """The app's package manager; for requirements.txt and pylock.toml also the engine
    (``installer``: the PYTHON_INSTALLER config var); the dependency groups and extras to
    install besides the main dependencies (``groups``, ``extras``: PYTHON_DEPENDENCY_GROUPS,
    PYTHON_EXTRAS); ``pylock``: PYTHON_PYLOCK, the name of the pylock.<name>.toml to install."""
    files = AppFiles.of(files)
    choice = manager_files.find(files, manager_files.pylock_file(pylock))
    if choice.manager.engine and not choice.installs_app:
        engine = uv_pip.choose_engine(installer, files, choice.files[0])
        by_engine = ENGINES[choice.manager.lockfile or ""]
        choice = dataclasses.replace(choice, manager=by_engine[engine.name],
                                     engine_reason=engine.reason)
    elif installer and installer.strip().lower() not in uv_pip.ENGINES:
        raise uv_pip.unknown_engine(installer)
    choice = selection.select(choice, files, groups, extras)
    if not dev or choice.manager is NO_DEPENDENCIES:
        return choice
    named = choice.manager.test_requirements
    test = files.app_dir / named if named else None
    extra: tuple[Path, ...] = ()
    if test is not None and files.bytes(test, "requirements") is not None:
        extra = (test,)
    return dataclasses.replace(choice, dev=True, files=choice.files + extra)


def needs_libraries(files: AppFiles) -> bool:
    """Whether ``choose``, ``check_python`` or ``check_tools`` will parse a file of the app
    with the buildpack's libraries (``libraries.ensure``: tomli on hosts before 3.11,
    packaging): Pipfile.lock, a pylock.toml (or pylock.<name>.toml), a pyproject.toml (also
    beside a requirements.txt: its requires-python narrows the Python version choice), or
    a uv.toml (its required-version); or a requirements.txt with an environment marker
    (``requirements_files.marker_error`` checks it with packaging)."""
    def there(name: str | None) -> bool:
        return name is not None and files.is_file(files.app_dir / name)

    def has_marker(name: str) -> bool:
        return there(name) and ";" in (files.text(files.app_dir / name, "requirements") or "")

    return there(PIPENV.lockfile) or there(python_check.PYPROJECT) or there("uv.toml") \
        or any(files.app_dir.glob("pylock*.toml")) or has_marker("requirements.txt")


def check_python(choice: Choice, files: AppFiles, python_version: str) -> None:
    """Plan time: the chosen Python against the dependency files. Reading them needs the
    buildpack's libraries (``libraries.ensure``); without them yet, ``install`` checks."""
    if choice.manager is not NO_DEPENDENCIES and libraries.ready():
        python_check.check(choice, files, python_version)


def check_tools(choice: Choice, files: AppFiles) -> None:
    """Plan time: the pinned uv or Poetry against the version the app asks for
    (``tool_versions``); without the libraries yet, ``install`` checks."""
    if libraries.ready():
        tool_versions.check(choice, files)


def _install_tests(choice: Choice, ctx: InstallContext, path: Path, secrets: list[str]) -> None:
    """A CI build's test requirements, after the dependencies, by the record's engine: uv
    unless the file uses a pip feature uv lacks (then pip, and the log says why)."""
    what = "the test dependencies"
    if choice.manager.engine == "uv":
        engine = uv_pip.choose_engine(None, ctx.files, path)
        if engine.name == "uv":
            uv_pip.install_requirements(ctx, path, secrets, what=what)
            return
        pip.install_requirements(ctx, path, secrets, what=what, reason=engine.reason)
        return
    pip.install_requirements(ctx, path, secrets, what=what)


def install(choice: Choice, ctx: InstallContext, incremental: bool = False) -> bool:
    """Install the app's dependencies; ``incremental``: the runtime holds the previous
    build's packages (a record with ``update``), so only the difference is applied.
    Whether the environment changed (always, unless ``incremental``): when not, it is the
    previous build's as it was saved, relocatable and compiled."""
    if choice.manager is NO_DEPENDENCIES:
        choice.manager.install(ctx, choice, [])
        return not incremental
    before = slug_cleanup.environment_state(ctx.prefix) if incremental else None
    if (python_check.reads_files(choice, ctx.files) or not choice.selection.checked) \
            and not libraries.ready() \
            and libraries.fetch_with_pip(ctx.python, ctx.env, ctx.cache_dir):
        manager_files.confirm(choice, ctx.files)  # not done at plan time
        python_check.check(choice, ctx.files, ctx.python_version)
        tool_versions.check(choice, ctx.files)
        choice = selection.confirm(choice, ctx.files)
    secrets = ctx.secrets + url_secrets(ctx.env.values())
    leftovers = slug_cleanup.build_leftovers(ctx.app_dir)
    tests = [p for p in choice.files if choice.dev and p.name == choice.manager.test_requirements]
    install = (choice.manager.update if incremental else None) or choice.manager.install
    missing = free_threaded.check(choice, ctx, secrets)  # a free-threaded runtime only
    try:
        install(ctx, choice, secrets)
    except BuildError as err:
        if missing:
            raise free_threaded.explain_failure(err, missing, ctx) from None
        raise
    for path in tests:
        _install_tests(choice, ctx, path, secrets)
    slug_cleanup.remove_new_leftovers(ctx.app_dir, leftovers)
    if before is not None and slug_cleanup.environment_state(ctx.prefix) == before:
        return False
    slug_cleanup.fix_build_paths(ctx.prefix, ctx.slug_root, ctx.python, ctx.env)
    return True


def prune_uv_cache(ctx: InstallContext) -> None:
    """Once the dependencies are installed: drop the wheels uv downloaded from its cache
    (``uv.prune_cache``), beside the rest of the build."""
    uv.prune_cache(ctx)


def trim_caches(ctx: InstallContext, manager: Manager) -> None:
    """After the build: drop the packages pip downloaded from its cache (the installed
    environment's cache entry holds them, installed; the wheels it built from source are
    kept), so CACHE_DIR holds each package once, as ``prune_uv_cache`` did for uv's; and
    uv itself when ``manager`` does not install with it (a Pipenv, Poetry or PDM app's
    fresh runtime fetched it to install pip and the tool: a later build reuses both
    installed)."""
    pip.prune_cache(ctx)
    if manager.tool is not pinned_tools.TOOLS["uv"]:
        pinned_tools.drop(ctx, pinned_tools.TOOLS["uv"])
