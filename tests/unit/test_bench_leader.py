"""bench/run --peer-heroku: its argument handling, the pieces that run the leader's bin/compile
unmodified (the curl wrapper, the repacked archive, the app copy) and how results render.
No build is timed here."""
from __future__ import annotations

import io
import lzma
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from bench import benchmark, leader

BASE = "https://archives.example.invalid"


def checkout(root: Path, python_sh: str = f'S3_BASE_URL="{BASE}"\n') -> Path:
    """A folder shaped like the leader's checkout: bin/compile and lib/python.sh."""
    (root / "bin").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "bin" / "compile").write_text("#!/usr/bin/env bash\n")
    (root / "bin" / "compile").chmod(0o755)
    (root / "lib" / "python.sh").write_text(f"#!/usr/bin/env bash\n{python_sh}")
    return root


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        benchmark.parse_args(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_peer_checkout_is_accepted_and_adds_the_leader(tmp_path: Path) -> None:
    peer = checkout(tmp_path / "leader")
    args = benchmark.parse_args(["--peer-heroku", str(peer), "--tools", "ours-uv", "uv"])
    assert args.peer_heroku == peer.resolve()
    assert args.tools == ["ours-uv", "uv", "leader"]
    default = benchmark.parse_args(["--peer-heroku", str(peer)])
    assert default.tools == [*benchmark.DEFAULT_TOOLS, "leader"]
    assert benchmark.parse_args([]).tools == list(benchmark.DEFAULT_TOOLS)
    assert leader.base_url(peer) == BASE


@pytest.mark.parametrize("shape, expected", [
    ("missing", "no such folder"),
    ("empty", "has no bin/compile. Is it a checkout of heroku/heroku-buildpack-python?"),
    ("bare", "git directory without a work tree"),
    ("not-executable", "bin/compile is not executable"),
    ("no-base-url", "sets no S3_BASE_URL"),
    ("no-python-sh", "cannot read lib/python.sh"),
])
def test_bad_peer_checkout_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            shape: str, expected: str) -> None:
    peer = tmp_path / "leader"
    if shape == "empty":
        peer.mkdir()
    elif shape == "bare":
        subprocess.run(["git", "init", "-q", "--bare", str(peer)], check=True, timeout=30)
    elif shape == "not-executable":
        checkout(peer)
        (peer / "bin" / "compile").chmod(0o644)
    elif shape == "no-base-url":
        checkout(peer, python_sh="S3_BASE_URL=${SOMEWHERE}\n")
    elif shape == "no-python-sh":
        checkout(peer)
        (peer / "lib" / "python.sh").unlink()
    err = usage_error(capsys, ["--peer-heroku", str(peer)])
    assert expected in err
    assert "Traceback" not in err


def test_peer_inside_this_repository_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "keep the leader's checkout outside it" in usage_error(
        capsys, ["--peer-heroku", str(benchmark.BENCH)])


def test_other_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert "give the leader's checkout with --peer-heroku DIR" in usage_error(capsys, ["--tools", "leader"])
    assert "give 1 to 100" in usage_error(capsys, ["--runs", "0"])
    assert "give a time as HH:MM" in usage_error(capsys, ["--until", "25:00"])
    assert "invalid choice" in usage_error(capsys, ["--tools", "poetry"])
    assert "invalid choice" in usage_error(capsys, ["--apps", "no-such-app"])


def test_curl_wrapper_rewrites_only_the_archive_prefix(tmp_path: Path) -> None:
    wrapper = tmp_path / "curl"
    wrapper.write_text(leader.curl_wrapper("/bin/echo", BASE, "http://127.0.0.1:8123"))
    wrapper.chmod(0o755)
    args = ["--fail", f"{BASE}/python-3.13.0-ubuntu-24.04-amd64.tar.zst", f"x{BASE}/a", "two words"]
    out = subprocess.run([str(wrapper), *args], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    assert out == f"--fail http://127.0.0.1:8123/python-3.13.0-ubuntu-24.04-amd64.tar.zst x{BASE}/a two words\n"


def test_archive_name_and_environment(tmp_path: Path) -> None:
    assert leader.archive_name("3.13.0", "x86_64") == "python-3.13.0-ubuntu-24.04-amd64.tar.zst"
    assert leader.archive_name("3.11.7", "aarch64") == "python-3.11.7-ubuntu-24.04-arm64.tar.zst"
    env = leader.leader_env(tmp_path / "bin", tmp_path / "home", "http://127.0.0.1:1/simple/")
    assert env["PATH"].split(":")[0] == str(tmp_path / "bin")
    assert env["STACK"] == "heroku-24" and env["PIP_CONFIG_FILE"] == "/dev/null"
    assert env["HOME"] == str(tmp_path / "home")
    assert env["PIP_INDEX_URL"] == "http://127.0.0.1:1/simple/"
    assert not {"PYTHON_RUNTIME_STORE", "PYTHON_INSTALLER"} & set(env)


def test_repack_turns_a_store_archive_into_the_leaders_format(tmp_path: Path) -> None:
    source = tmp_path / "python-3.13.0-debian-12-x86_64.tar.xz"
    with lzma.open(source, "wb") as xz, tarfile.open(fileobj=xz, mode="w|") as tar:
        for name, data in (("bin/python3.13", b"#!interpreter\n"), ("lib/libpython3.13.so.1.0", b"\0" * 4096)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / leader.archive_name("3.13.0")
    leader.repack(source, dest)
    listed = subprocess.run(["tar", "--zstd", "-tf", str(dest)], capture_output=True, text=True,
                            check=True, timeout=60).stdout.split()
    assert listed == ["bin/python3.13", "lib/libpython3.13.so.1.0"]
    assert not list(tmp_path.glob("*.partial"))


def test_prepare_app_pins_the_version_and_takes_the_app_base(tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "api" / "bin").mkdir(parents=True)
    (root / "api" / "requirements.txt").write_text("flask\n")
    (root / "api" / "runtime.txt").write_text("python-3.13\n")
    (root / "frontend").mkdir()
    app = leader.prepare_app(root, "api", "3.13.0")
    assert app == root
    assert sorted(p.name for p in root.iterdir()) == [".python-version", "bin", "requirements.txt"]
    assert (root / ".python-version").read_text() == "3.13.0\n"
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / ".python-version").write_text("3.13\n")
    leader.prepare_app(flat, ".", "3.13.0")
    assert (flat / ".python-version").read_text() == "3.13.0\n"


def test_disk_bytes_counts_a_linked_file_once(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a").write_bytes(os.urandom(100_000))
    os.link(tree / "a", tree / "sub" / "b")
    (tree / "c").symlink_to("a")
    du = subprocess.run(["du", "-s", "-B1", str(tree)], capture_output=True, text=True,
                        check=True, timeout=30).stdout.split()[0]
    assert benchmark.disk_bytes(tree) == int(du)
    assert benchmark.disk_bytes(tree) < 2 * 100_000


def test_run_order_alternates() -> None:
    tools = ["ours-uv", "uv", "leader"]
    assert benchmark.run_order(tools, 0) == tools
    assert benchmark.run_order(tools, 1) == ["leader", "uv", "ours-uv"]
    assert benchmark.run_order(tools, 2) == tools


def times(median: float) -> dict:
    return {"median": median, "min": median, "max": median, "runs": [median] * 3}


def results(with_leader: bool) -> dict:
    medians = {"ours-uv": {"cold": 7.0, "warm": 1.0, "added": 2.0, "removed": 2.0, "upgraded": 2.0},
               "uv": {"cold": 0.5, "warm": 0.5, "added": 0.5, "removed": 0.5, "upgraded": 0.5},
               "venv+pip": {s: 4.0 for s in benchmark.SCENARIOS},
               "leader": {"cold": 8.0, "warm": 2.5, "added": 8.0, "removed": 3.0, "upgraded": 8.0}}
    tools = [t for t in medians if t != "leader" or with_leader]
    apps = {"flask-app": {s: {"times": {t: times(medians[t][s]) for t in tools}, "runs": 3,
                              "steps": {"ours-uv": {"start": 0.2, "Installing dependencies": 0.5},
                                        **({"leader": {"Installing pip": 2.1}} if with_leader else {})}}
                          for s in benchmark.SCENARIOS}}
    sizes = {"ours-uv": {"cache": 150 * benchmark.MB, "slug python": 90 * benchmark.MB}}
    if with_leader:
        sizes["leader"] = {"cache": 60 * benchmark.MB, "slug python": 60 * benchmark.MB}
    return {"machine": {"cpus": 2, "cpu": "cpu", "memory": "8 GiB", "arch": "x86_64", "kernel": "6"},
            "sessions": [{"started": "2026-12-06 21:20 UTC", "load_before": "1.00 1.00 1.00",
                          "load_after": "2.00 2.00 2.00", "runs": 3, "apps": ["flask-app"],
                          "tools": tools, "commit": "abc1234",
                          **({"peer": "/work/leader at b4e7e72"} if with_leader else {})}],
            "apps": apps, "cache_sizes": {"flask-app": sizes}}


def test_rendering_with_the_leader() -> None:
    text = benchmark.render_markdown(results(with_leader=True))
    assert "| app | scenario | ours-uv | ours-pip | venv+pip | uv | leader | ours-uv / uv | " \
           "ours-uv / venv+pip | ours-uv / leader |" in text
    assert "| flask-app | warm | 1.0 (1.0-1.0, n=3) | - | 4.0 (4.0-4.0, n=3) | 0.5 (0.5-0.5, n=3) | " \
           "2.5 (2.5-2.5, n=3) | 2.0 | 0.25 | 0.4 |" in text
    assert "(leader: /work/leader at b4e7e72)" in text
    # against the leader: cold 7/8 met, warm 0.4 met, added 0.25 met, removed 0.67 missed
    assert "| flask-app | 0.88: met | 0.4: met | 0.25: met | 0.67: missed 1.34x | 0.25: met |" in text
    # against uv by hand on a small app: warm 2.0 <= 2.5 met, changed 4.0 missed 2x
    assert "| flask-app | 2.0: met | 4.0: missed 2.00x | 4.0: missed 2.00x | 4.0: missed 2.00x | 1.75: missed 1.75x |" \
        in text
    assert "| flask-app | 150 | 90 | missed by 10 MB | 60 | 60 | 2.50 |" in text
    # less its pip bootstrap (2.1 s): cold 7 / 5.9, warm 1 / 0.4, added 2 / 5.9, removed 2 / 0.9
    assert "| flask-app | 1.19: missed 1.32x | 2.5: missed 5.00x | 0.34: met | 2.22: missed 4.44x | 0.34: met |" \
        in text
    assert "The leader's bin/compile, per step" in text and "- flask-app / cold: Installing pip 2.1" in text


def test_rendering_without_the_leader_has_no_leader_columns() -> None:
    data = results(with_leader=False)
    data["cache_sizes"]["flask-app"]["ours-uv"]["cache"] = 130 * benchmark.MB
    text = benchmark.render_markdown(data)
    assert "leader" not in text
    assert "| flask-app | 130 | 90 | met |" in text


def test_merge_keeps_the_sizes_of_apps_not_measured_again() -> None:
    old = results(with_leader=True)
    old["cache_sizes"]["django-app"] = {"ours-uv": {"cache": 1, "slug python": 1}}
    merged = benchmark.merge(old, results(with_leader=False))
    assert merged["cache_sizes"]["django-app"] == {"ours-uv": {"cache": 1, "slug python": 1}}
    assert "leader" not in merged["cache_sizes"]["flask-app"]


def test_timed_commands_are_waited_for_without_polling(monkeypatch):
    """A timed command's end is its real exit (one blocking wait), a failure raises, and
    the deadline still holds (a timer kills it)."""
    import subprocess
    import time

    from bench import benchmark

    waits = []
    real_wait = subprocess.Popen.wait

    def wait(self, timeout=None):
        waits.append(timeout)
        return real_wait(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", wait)
    benchmark.run_timed(["true"])
    assert waits == [None]  # Popen.wait(timeout) would poll in sleeps of up to 50 ms
    with pytest.raises(subprocess.CalledProcessError) as failed:
        benchmark.run_timed(["sh", "-c", "exit 3"])
    assert failed.value.returncode == 3
    monkeypatch.setattr(benchmark, "TIMEOUT", 0.3)
    start = time.monotonic()
    with pytest.raises(subprocess.CalledProcessError):
        benchmark.run_timed(["sleep", "30"])
    assert time.monotonic() - start < 10
