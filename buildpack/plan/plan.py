"""The plan: every input of a build read and checked once, before anything is written.

``make_plan`` turns the app dir, the config vars, the store and the platform's
environment into a ``Plan``; everything that can be wrong with the app is found here.
Both targets build from it (``commands.compile``, ``cnb.build``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buildpack import installers
from buildpack.app import app_base, app_files, guard_rails, processes
from buildpack.app.requirements_files import check_text, env_references, included_files
from buildpack.app_build import nltk_data
from buildpack.base import libraries, output, platform_info, redact, settings
from buildpack.base.envdir import lookup, read_env_dir
from buildpack.base.http_client import check_url
from buildpack.base.output import BuildError
from buildpack.cache import layout
from buildpack.installers import uv_pip
from buildpack.installers.failures import INDEX_URL_SETTINGS, index_urls
from buildpack.installers.manager_files import PYLOCK_VAR
from buildpack.installers.record import EXTRAS_VAR, GROUPS_VAR
from buildpack.installers.subprocess_env import INSTALLER_ALLOWLIST, installer_settings
from buildpack.plan import python_choice
from buildpack.runtime.manifest import MANIFEST_NAME, RuntimeEntry
from buildpack.runtime.signature import PUBLIC_KEY_VAR
from buildpack.runtime.store import StoreLocation, parse_location, parse_timeout, read_manifest


@dataclass(frozen=True)
class Plan:
    build_dir: Path
    cache_dir: Path
    config: dict[str, str]
    app_base: str  # the app's folder in BUILD_DIR ("" for the root), see app_base
    store: StoreLocation
    runtime: RuntimeEntry
    dependencies: installers.Choice
    files: app_files.AppFiles  # the one reader of the app's files (read once, checked)
    procfiles: processes.Procfiles  # parsed once: compile's log, launch.toml
    environ: dict[str, str]  # the platform's environment, read once
    env_dir: Path | None = None  # as the platform passed it (hooks get it as ENV_DIR)
    nltk_ids: tuple[str, ...] = ()  # what nltk.txt names


def _matching_entries(entries: list[RuntimeEntry], store: StoreLocation,
                      environ: dict[str, str]) -> list[RuntimeEntry]:
    stack, arch = platform_info.current_stack(environ), platform_info.current_arch()
    matching = [e for e in entries if e.stack == stack and e.arch == arch]
    if not matching:
        others = sorted({f"{e.stack}/{e.arch}" for e in entries}) or ["nothing"]
        raise BuildError(
            f"The runtime store has no Python for {stack}/{arch}",
            f"The runtime store at {store.display} holds runtimes for: {', '.join(others)}.\n"
            f"This build runs on stack {stack!r}, architecture {arch!r}.\n\n"
            "Add runtimes built on this stack to the store (bin/build-runtime-store), or\n"
            "point PYTHON_RUNTIME_STORE at a store that has them.",
            error_id="runtime-store::no-python-for-stack",
        )
    return matching


def _check_references(name: str, references: list[str], config: dict[str, str],
                      environ: dict[str, str]) -> None:
    """Warn about ``${NAME}`` in a requirements file that pip will not expand."""
    unset = [ref for ref in references if ref not in config and ref not in environ]
    blocked = [ref for ref in references if ref in config and ref not in INSTALLER_ALLOWLIST]
    if unset:
        output.warning(
            f"{name} names config vars that are not set: " + ", ".join(unset),
            "pip leaves ${NAME} as it is when NAME is not set, and the install then fails\n"
            "or fetches the wrong URL. Set them (heroku config:set NAME=...).")
    if blocked:
        output.warning(
            f"{name} names config vars the installer does not get: " + ", ".join(blocked),
            "Only config vars whose names end in _TOKEN, _PAT, _USERNAME, _USER or _PASSWORD\n"
            "are passed to pip for ${NAME} in requirements files (their values are masked in\n"
            "the log). Rename the config var, e.g. to GITHUB_TOKEN.")


def _check_includes(choice: installers.Choice, files: app_files.AppFiles,
                    config: dict[str, str], environ: dict[str, str]) -> None:
    """Refuse requirements that pip would choke on (includes from outside the app, links,
    special files and oversized files are refused as they are read)."""
    for path in choice.files:
        if path.suffix != ".txt":
            continue
        for included in included_files(files, path):
            text = files.text(included, "requirements") or ""
            check_text(included.name, text)
            _check_references(included.name, env_references(text), config, environ)


def _default_store() -> str:
    """The store bundled with an offline buildpack, else the platform default."""
    if (settings.BUNDLED_STORE / MANIFEST_NAME).is_file():
        output.step("Using the runtime store bundled with this buildpack (offline bundle)")
        return str(settings.BUNDLED_STORE)
    return settings.default_store_url()


def make_plan(build_dir: Path, cache_dir: Path, env_dir: Path | None, environ: dict[str, str],
              dev: bool = False) -> Plan:
    """Read and validate every input; log the version decision. ``environ``: the
    platform's environment, read once by the entry point (the build reads no other).
    ``dev``: a CI build (``bin/test-compile``), which installs the dev dependencies too."""
    config = read_env_dir(env_dir)
    # From here on, nothing secret reaches the log (output masks every line).
    redact.register(redact.secrets_of_config(config) + redact.url_secrets(environ.values()))
    settings_env = {**environ, **config}
    for setting in INDEX_URL_SETTINGS:  # a clear error now, not a traceback from pip later
        for url in index_urls({setting: settings_env.get(setting, "")}):
            check_url(url, setting)
    base = app_base.choose(build_dir, lookup(app_base.CONFIG_VAR, config, environ))
    app_dir = build_dir / base
    files = app_files.AppFiles(build_dir, app_dir)
    for name in app_files.WRITTEN_BY_BUILDPACK:
        app_files.check_writable(build_dir, name)
    guard_rails.check(build_dir, app_dir)
    procfiles = processes.read(files, base)  # a bad Procfile fails the push before any work
    for folder in {build_dir, build_dir / base}:
        processes.warn_line_endings(files, folder)
    groups, extras = (lookup(name, config, environ) for name in (GROUPS_VAR, EXTRAS_VAR))
    if installers.needs_libraries(files):  # tomli before 3.11, packaging
        libraries.ensure(cache_dir, installer_settings(environ, config).get("PIP_INDEX_URL"))
    dependencies = installers.choose(files, dev, lookup(uv_pip.CONFIG_VAR, config, environ),
                                     groups, extras, lookup(PYLOCK_VAR, config, environ))
    _check_includes(dependencies, files, config, environ)
    store = parse_location(
        lookup("PYTHON_RUNTIME_STORE", config, environ) or _default_store(),
        parse_timeout(lookup("PYTHON_RUNTIME_STORE_TIMEOUT", config, environ)))
    # The key comes from the platform only: an app's config var may choose another store,
    # never turn the check off.
    public_key = environ.get(PUBLIC_KEY_VAR, "").strip() or None
    entries = _matching_entries(read_manifest(store, cache_dir / layout.TMP, public_key), store, environ)
    runtime = python_choice.choose_runtime(files, cache_dir, dependencies, entries)
    installers.check_python(dependencies, files, runtime.version)
    installers.check_tools(dependencies, files)
    return Plan(build_dir, cache_dir, config, base, store, runtime, dependencies, files, procfiles,
                environ,
                env_dir=env_dir.resolve() if env_dir is not None else None,
                nltk_ids=tuple(nltk_data.read_ids(files)))






