"""``bin/local-deploy APP_DIR``: do on this machine what the platform does on a push.

detect -> compile (fresh build dir, persistent cache per app) -> release -> pack the
slug -> unpack it at another path -> source .profile.d -> start a process type with
PORT set. Without PYTHON_RUNTIME_STORE it builds (once) a store from this machine's
interpreters; on a machine with none it packable (a bare Debian or Ubuntu box), it
builds the default minor from pristine source instead.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from buildpack.base import arguments, output
from buildpack.base.arguments import ArgumentParser
from buildpack.base.envdir import read_env_dir
from buildpack.base.output import BuildError
from buildpack.base.settings import BUILDPACK_DIR, machine_cache
from buildpack.commands.release import parse_release_yaml
from buildpack.python_version import python_lifecycle
from buildpack.runtime.manifest import MANIFEST_NAME
from buildpack.store_builder import builder, cpython_sources

BIN = BUILDPACK_DIR / "bin"
START_SCRIPT = (
    'cd "$HOME" || exit 1\n'
    'for f in "$HOME"/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done\n'
    '[ -r "$HOME/.profile" ] && . "$HOME/.profile"\n'
    'exec /bin/bash -c "$1"\n'
)


def free_port(preferred: int | None) -> int:
    for candidate in ([preferred] if preferred else []) + [5000, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                if candidate == preferred:
                    raise BuildError(f"Port {preferred} is already in use",
                                     "Pick another one with --port N.",
                                     error_id="local-deploy::port-in-use") from None
                continue
            port: int = sock.getsockname()[1]
            return port
    raise BuildError("No free TCP port found", error_id="local-deploy::no-free-port")


def ensure_store() -> str:
    """PYTHON_RUNTIME_STORE, or a store built once from this machine's interpreters."""
    configured = os.environ.get("PYTHON_RUNTIME_STORE", "").strip()
    if configured:
        return configured
    store = machine_cache() / "local-store"
    if not (store / MANIFEST_NAME).is_file():
        output.step(f"Building a local runtime store in {store} (once)")
        try:
            code = builder.main([str(store)])
        except BuildError as exc:
            if exc.error_id != "store-builder::no-cpython-found":
                raise
            output.detail("No packable CPython on this machine: building one from pristine source")
            code = _build_from_source(store)
        if code != 0:
            raise BuildError("Could not build the local runtime store",
                             "See the messages above; or set PYTHON_RUNTIME_STORE.",
                             error_id="local-deploy::store-build-failed")
    return str(store)


def source_minors(default: str, buildable: list[str]) -> list[str]:
    """The minors to try building, in order: the default, then the newest others."""
    return ([default] if default in buildable else []) + \
        sorted((m for m in buildable if m != default), key=cpython_sources.minor_key, reverse=True)


def default_source_minors(pins: dict[str, cpython_sources.Pin]) -> list[str]:
    """What a bare machine builds, in order: the default minor for new apps first."""
    return source_minors(python_lifecycle.default_for_new_apps(), cpython_sources.buildable_minors(pins))


def _build_from_source(store: Path) -> int:
    """Build the default minor from source into ``store``; when its tarball cannot be
    fetched on this machine, the newest pinned minor that can. A quick build (no PGO or
    LTO): minutes rather than an hour, for trying an app on this machine."""
    minors = default_source_minors(cpython_sources.load_pins())
    output.detail("A quick build (--quick: no PGO or LTO), enough to try an app here")
    for minor in minors:
        try:
            return builder.main([str(store), "--from-source", minor, "--quick"])
        except BuildError as exc:
            if exc.error_id != "source-build::unavailable" or minor == minors[-1]:
                raise
            output.warning(f"Cannot build Python {minor} here: {exc.summary}", exc.body)
    return 1


BUILD_DEADLINE = 4 * 3600  # seconds for bin/detect, bin/compile or bin/release (each step
                           # of a compile has its own, BUILDPACK_STEP_TIMEOUT)


def _run(cmd: list[str], env: dict[str, str], capture: bool = False) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, env=env, text=True, check=False, timeout=BUILD_DEADLINE,
                              stdout=subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired:
        raise BuildError(f"{Path(cmd[0]).name} did not finish within {BUILD_DEADLINE} s",
                         "It was stopped. See its output above.",
                         error_id="local-deploy::build-failed") from None


def pack_slug(build_dir: Path, slug: Path) -> int:
    with tarfile.open(slug, "w:gz", compresslevel=6) as tar:
        tar.add(build_dir, arcname=".")
    return slug.stat().st_size


def build(app_dir: Path, work: Path, env_dir: Path | None) -> tuple[Path, dict[str, str]]:
    """Build ``app_dir`` like the platform would; return (slug path, process types)."""
    env = dict(os.environ, PYTHON_RUNTIME_STORE=ensure_store())
    key = hashlib.sha256(str(app_dir).encode()).hexdigest()[:12]
    cache_dir = machine_cache() / "apps" / f"{app_dir.name}-{key}"
    build_dir = work / "build"
    shutil.copytree(app_dir, build_dir, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    empty_env = work / "env"
    empty_env.mkdir()
    detected = _run([str(BIN / "detect"), str(build_dir)], env, capture=True)
    if detected.returncode != 0:
        raise BuildError("No Python app detected",
                         f"{app_dir} has none of the files that mark a Python app.",
                         error_id="local-deploy::no-python-app")
    output.step(f"{detected.stdout.strip()} app detected")
    if _run([str(BIN / "compile"), str(build_dir), str(cache_dir),
             str(env_dir or empty_env)], env).returncode != 0:
        raise BuildError("The build failed", "The compile step's messages above say why.",
                         error_id="local-deploy::build-failed")
    release = _run([str(BIN / "release"), str(build_dir)], env, capture=True)
    if release.returncode != 0:
        raise BuildError("bin/release failed", "Its messages above say why.",
                         error_id="local-deploy::release-failed")
    (build_dir / ".release").write_text(release.stdout, encoding="utf-8")
    output.step("Compressing...")
    size = pack_slug(build_dir, work / "slug.tgz")
    output.detail(f"Done: {size / 1024 / 1024:.1f}M")
    return work / "slug.tgz", parse_release_yaml(release.stdout)


def start(slug: Path, app_path: Path, command: str, process: str, port: int,
          config: dict[str, str]) -> int:
    app_path.mkdir(parents=True)
    with tarfile.open(slug) as tar:
        tar.extractall(app_path)
    env = dict(config)
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=str(app_path), PORT=str(port),
               DYNO=f"{process}.1")
    output.step(f"Starting process type '{process}': {command}")
    output.detail(f"Slug unpacked at {app_path} (HOME)")
    if process == "web":
        output.detail(f"Open http://localhost:{port}/  (Ctrl-C stops it)")
    proc = subprocess.Popen(["/bin/bash", "-c", START_SCRIPT, "start", command],
                            env=env, cwd=app_path, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        output.step("Stopped")
        return 0


def main(argv: list[str]) -> int:
    parser = ArgumentParser(prog="bin/local-deploy", description=__doc__.splitlines()[0],
                            error_id="usage::local-deploy-arguments")
    parser.add_argument("app_dir", type=Path)
    parser.add_argument("--port", type=arguments.port, help="PORT for the process (default 5000 or a free one)")
    parser.add_argument("--process", default="web", help="process type to start (default web)")
    parser.add_argument("--build-only", action="store_true", help="build the slug, do not start it")
    parser.add_argument("--env-dir", type=Path, help="config vars, one file per variable")
    args = parser.parse_args(argv)
    # Ctrl-C stops it even when started with SIGINT ignored (Python keeps an inherited
    # SIG_IGN, as a non-interactive shell's background job gets it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app_dir = args.app_dir.resolve()
    if not app_dir.is_dir():
        raise BuildError(f"{args.app_dir} is not a directory", "Pass the app's folder.",
                         error_id="local-deploy::not-a-directory")
    work = Path(tempfile.mkdtemp(prefix="local-deploy-"))
    try:
        slug, types = build(app_dir, work, args.env_dir)
        if args.build_only:
            kept = Path.cwd() / f"{app_dir.name}-slug.tgz"
            shutil.move(str(slug), kept)
            output.step(f"Slug written to {kept}")
            return 0
        if args.process not in types:
            raise BuildError(
                f"The app has no '{args.process}' process type",
                f"Process types declared: {', '.join(types) or '(none)'}.\n"
                "Add it to the Procfile, or pick one with --process.",
                error_id="local-deploy::no-such-process")
        port = free_port(args.port)
        return start(slug, work / "app", types[args.process], args.process, port,
                     read_env_dir(args.env_dir))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        sys.stdout.flush()
