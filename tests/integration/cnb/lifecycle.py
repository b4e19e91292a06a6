"""A stand-in for the CNB lifecycle: it plays the lifecycle's part of the Buildpack API
(0.10) around this buildpack's bin/detect and bin/build, checks what they write, and
starts a process as the launcher does. (The real lifecycle needs Docker or a registry:
docs/platforms/cnb.md shows `pack build`.)

- detect: cwd = the app; ``CNB_BUILDPACK_DIR`` (a private copy of the buildpack, which
  must stay unchanged), ``CNB_PLATFORM_DIR`` (``env/`` holds the user's variables, which
  are also in the environment: ``clear-env`` is false), ``CNB_BUILD_PLAN_PATH``,
  ``CNB_TARGET_*``; exit 0 (the plan is read with tomllib) or 100.
- build: cwd = the app; ``CNB_LAYERS_DIR`` = ``<layers>/<escaped buildpack id>``,
  ``CNB_BP_PLAN_PATH`` (the plan entries this buildpack provides). Then the layer TOMLs,
  ``launch.toml`` and the SBOM files are checked against the API.
- rebuild: as the analyzer and restorer leave things for the next build: ``cache``
  layers keep their directory; launch-only layers keep their metadata (their directory
  stays in the previous image); the rest is deleted; ``[types]`` are dropped and the
  metadata is rewritten the way the lifecycle's Go encoder writes it (indented keys,
  integers as floats); ``launch.toml`` is gone. The app is a fresh copy of the source.
- launch: ``PATH``/``LD_LIBRARY_PATH`` with the launch layers' ``bin``/``lib``,
  ``env/`` and ``env.launch/`` files applied, ``exec.d`` programs run (TOML on fd 3),
  cwd = ``working-dir`` or the app, ``PORT`` set, the command list executed directly.
"""
from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import tomli_w
import tomllib

from buildpack.base.platform_info import parse_os_release
from tests import support

DESCRIPTOR = tomllib.loads((support.ROOT / "buildpack.toml").read_text())
BUILDPACK_ID = DESCRIPTOR["buildpack"]["id"]
NOT_DETECTED = 100
_PROCESS_TYPE = re.compile(r"[A-Za-z0-9._-]+")
_RESERVED = {"launch", "build", "store"}
_SBOM_EXTENSIONS = {"application/vnd.cyclonedx+json": "cdx.json",
                    "application/spdx+json": "spdx.json",
                    "application/vnd.syft+json": "syft.json"}
_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def _os_release() -> dict[str, str]:
    return parse_os_release(Path("/etc/os-release").read_text())


@dataclass
class Step(support.Result):
    """One lifecycle phase's outcome."""


def _go_value(value) -> str:
    """A metadata value as the lifecycle writes it back (it went through JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    assert isinstance(value, list), f"unexpected metadata value {value!r}"
    return "[" + ", ".join(_go_value(v) for v in value) + "]"


def restored_toml(metadata: dict) -> str:
    """``<layer>.toml`` as the restorer leaves it: metadata only, Go's encoder style."""
    if not metadata:
        return ""
    assert not any(isinstance(v, dict) for v in metadata.values()), "nested metadata"
    lines = ["[metadata]"]
    for key in sorted(metadata):
        shown = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
        lines.append(f"  {shown} = {_go_value(metadata[key])}")
    return "\n".join(lines) + "\n"


class Lifecycle:
    def __init__(self, root: Path, user_env: dict[str, str]) -> None:
        self.root = root
        self.buildpack = support.copy_buildpack(root)
        shutil.copy(support.ROOT / "buildpack.toml", self.buildpack / "buildpack.toml")
        self.app = root / "workspace"
        self.platform = root / "platform"
        self.layers = root / "layers" / BUILDPACK_ID.replace("/", "_")
        self.home = root / "home"
        self.user_env = dict(user_env)
        (self.platform / "env").mkdir(parents=True)
        self.home.mkdir()
        for name, value in self.user_env.items():
            (self.platform / "env" / name).write_text(value)

    # --- the phases ------------------------------------------------------------------

    def source(self, app: Path) -> Path:
        """A fresh copy of the app's source in the workspace (each build starts from it)."""
        shutil.rmtree(self.app, ignore_errors=True)
        shutil.copytree(app, self.app, symlinks=True)
        return self.app

    def _env(self, **cnb: str) -> dict[str, str]:
        release = _os_release()
        env = {"PATH": BASE_PATH, "HOME": str(self.home),
               "CNB_BUILDPACK_DIR": str(self.buildpack), "CNB_PLATFORM_DIR": str(self.platform),
               "CNB_TARGET_OS": "linux", "CNB_TARGET_ARCH": _ARCH.get(platform.machine(), ""),
               "CNB_TARGET_DISTRO_NAME": release.get("ID", ""),
               "CNB_TARGET_DISTRO_VERSION": release.get("VERSION_ID", "")}
        env.update(self.user_env)
        env.update(cnb)
        return env

    def _run(self, program: str, env: dict[str, str]) -> Step:
        proc = subprocess.run([str(self.buildpack / "bin" / program)], cwd=self.app, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        return Step(proc.returncode, proc.stdout, proc.stderr)

    def detect(self) -> tuple[Step, dict | None]:
        plan_path = self.root / "plan.toml"
        plan_path.unlink(missing_ok=True)
        step = self._run("detect", self._env(CNB_BUILD_PLAN_PATH=str(plan_path)))
        assert step.returncode in (0, NOT_DETECTED), f"detect errored:\n{step.log}"
        plan = tomllib.loads(plan_path.read_text()) if step.returncode == 0 else None
        return step, plan

    def build(self) -> Step:
        detected, plan = self.detect()
        assert plan is not None, detected.log
        provided = {entry["name"] for entry in plan.get("provides", [])}
        entries = [e for e in plan.get("requires", []) if e["name"] in provided]
        assert entries, f"the plan requires nothing this buildpack provides: {plan}"
        bp_plan = self.root / "buildpack-plan.toml"
        bp_plan.write_text(tomli_w.dumps({"entries": entries}))
        self.layers.mkdir(parents=True, exist_ok=True)
        buildpack_before = support.tree_snapshot(self.buildpack)
        step = self._run("build", self._env(CNB_LAYERS_DIR=str(self.layers),
                                            CNB_BP_PLAN_PATH=str(bp_plan)))
        assert support.tree_snapshot(self.buildpack) == buildpack_before, \
            "bin/build wrote into its own (read-only) directory"
        if step.returncode == 0:
            self.check_outputs()
        return step

    def prepare_rebuild(self) -> None:
        """Leave the layers dir as the analyzer and restorer do before the next build."""
        tomls = self.layer_tomls()
        for entry in self.layers.iterdir():
            if entry.is_dir() and not tomls.get(entry.name, {}).get("types", {}).get("cache"):
                shutil.rmtree(entry)  # only cached layers come back; launch ones stay in the image
        for name, document in tomls.items():
            types = document.get("types", {})
            toml = self.layers / f"{name}.toml"
            if types.get("cache") or types.get("launch"):
                toml.write_text(restored_toml(document.get("metadata", {})))
            else:
                toml.unlink()
                for sbom in self.layers.glob(f"{name}.sbom.*"):
                    sbom.unlink()
        for name in ("launch.toml", "build.toml"):
            (self.layers / name).unlink(missing_ok=True)
        for sbom in [*self.layers.glob("launch.sbom.*"), *self.layers.glob("build.sbom.*")]:
            sbom.unlink()

    # --- reading and checking the outputs ------------------------------------------------

    def layer_tomls(self) -> dict[str, dict]:
        return {p.stem: tomllib.loads(p.read_text()) for p in sorted(self.layers.glob("*.toml"))
                if p.stem not in _RESERVED}

    def launch_toml(self) -> dict:
        path = self.layers / "launch.toml"
        return tomllib.loads(path.read_text()) if path.is_file() else {}

    def check_outputs(self) -> None:
        """What the exporter would reject or ignore, per Buildpack API 0.10."""
        for name, document in self.layer_tomls().items():
            types = document.get("types", {})
            assert set(types) <= {"launch", "build", "cache"}, (name, types)
            assert all(isinstance(v, bool) for v in types.values()), (name, types)
            if types.get("launch"):  # this harness keeps no previous image to take it from
                assert (self.layers / name).is_dir(), f"launch layer {name} has no directory"
            if types.get("build") or types.get("cache"):
                assert (self.layers / name).is_dir(), f"layer {name} has no directory"
        processes = self.launch_toml().get("processes", [])
        for process in processes:
            assert _PROCESS_TYPE.fullmatch(process["type"]), process
            assert isinstance(process["command"], list) and process["command"], process
            assert all(isinstance(part, str) for part in process["command"]), process
            assert "direct" not in process, "Buildpack API 0.9 removed direct"
        assert sum(bool(p.get("default")) for p in processes) <= 1
        declared = {_SBOM_EXTENSIONS[m] for m in DESCRIPTOR["buildpack"].get("sbom-formats", [])}
        for sbom in self.layers.glob("*.sbom.*"):
            name, _, extension = sbom.name.partition(".sbom.")
            assert extension in declared, f"{sbom.name}: SBOM format not in buildpack.toml"
            assert name in self.layer_tomls() or name in ("launch", "build"), sbom.name
            assert json.loads(sbom.read_text())["bomFormat"] == "CycloneDX"

    # --- launch -------------------------------------------------------------------------

    def launch_layers(self) -> list[str]:
        return [name for name, doc in self.layer_tomls().items()
                if doc.get("types", {}).get("launch")]

    def launch_env(self, process_type: str, port: int) -> dict[str, str]:
        env = {"PATH": BASE_PATH, "HOME": str(self.home), "PORT": str(port)}
        layers = self.launch_layers()  # alphabetical: this buildpack's layers, in order
        for name in reversed(layers):  # prepended: the first layer ends up first
            for variable, folder in (("PATH", "bin"), ("LD_LIBRARY_PATH", "lib")):
                if (self.layers / name / folder).is_dir():
                    rest = env.get(variable)
                    env[variable] = str(self.layers / name / folder) + (f":{rest}" if rest else "")
        for name in layers:
            for folder in ("env", "env.launch", f"env.launch/{process_type}"):
                _apply_env_dir(env, self.layers / name / folder)
        for name in layers:
            for folder in ("exec.d", f"exec.d/{process_type}"):
                directory = self.layers / name / folder
                for program in sorted(directory.iterdir()) if directory.is_dir() else []:
                    if program.is_file():
                        env.update(_exec_d(program, env, self.app))
        return env

    def launch(self, process_type: str, port: int) -> support.LoggedProcess:
        process = next(p for p in self.launch_toml()["processes"] if p["type"] == process_type)
        env = self.launch_env(process_type, port)
        cwd = Path(process.get("working-dir", self.app))
        return support.LoggedProcess(process["command"] + process.get("args", []),
                                     self.root / f"{process_type}-{port}.log", env, cwd)


def _apply_env_dir(env: dict[str, str], directory: Path) -> None:
    """The Buildpack API's environment modification rules for one directory."""
    if not directory.is_dir():
        return
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        name, _, action = path.name.partition(".")
        value = path.read_text()
        delim_file = directory / f"{name}.delim"
        delim = delim_file.read_text() if delim_file.is_file() else ""
        if action in ("", "override"):
            env[name] = value
        elif action == "default":
            if not env.get(name):
                env[name] = value
        elif action == "prepend":
            env[name] = value + (delim + env[name] if env.get(name) else "")
        elif action == "append":
            env[name] = (env[name] + delim if env.get(name) else "") + value
        else:
            assert action == "delim", f"unknown env file suffix: {path}"


def _exec_d(program: Path, env: dict[str, str], app: Path) -> dict[str, str]:
    """Run an exec.d program: its fd 3 carries TOML (here: the wrapper's stdout)."""
    proc = subprocess.run(["/bin/sh", "-c", 'exec "$0" 3>&1 1>&2', str(program)], env=env,
                          cwd=app, capture_output=True, text=True, timeout=30, check=True)
    values = tomllib.loads(proc.stdout)
    assert all(isinstance(v, str) for v in values.values()), values
    return values
