"""WEB_CONCURRENCY's calculation (vendor/web_concurrency.sh) over fake cgroup trees."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from buildpack.runtime.profile_d import WEB_CONCURRENCY_SCRIPT

MIB = 1024 * 1024
GIB = 1024 * MIB
SHELLS = [shell for shell in ("bash", "dash") if shutil.which(shell)]


def concurrency(root: Path, cpus: str, shell: str = "bash", self_cgroup: str | None = None,
                mem_total_kib: int | None = None) -> str:
    """Run the function with ``root`` as /sys/fs/cgroup and fake /proc files."""
    self_file = root / "self-cgroup"
    if self_cgroup is not None:
        self_file.write_text(self_cgroup)
    meminfo = root / "meminfo"
    if mem_total_kib is not None:
        meminfo.write_text(f"MemTotal:       {mem_total_kib} kB\nMemFree:        1 kB\n")
    script = f'. "{WEB_CONCURRENCY_SCRIPT}"; _python_web_concurrency "$1" "$2" "$3" "$4"'
    result = subprocess.run([shell, "-c", script, shell, str(root / "cgroup"), str(self_file),
                             str(meminfo), cpus], capture_output=True, text=True, check=True)
    assert result.stderr == ""
    return result.stdout.strip()


def files(base: Path, entries: dict[str, str]) -> None:
    for name, content in entries.items():
        path = base / "cgroup" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")


@pytest.fixture(params=SHELLS)
def shell(request) -> str:
    return request.param


# --- cgroup v2 ------------------------------------------------------------------------

def test_v2_container_memory_limit_wins(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory.max": str(512 * MIB), "cpu.max": "max 100000"})
    assert concurrency(tmp_path, "8", shell, "0::/\n", 16 * GIB // 1024) == "2"


def test_v2_cpu_quota_rounds_up(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory.max": "max", "cpu.max": "150000 100000"})
    assert concurrency(tmp_path, "8", shell, "0::/\n", 16 * GIB // 1024) == "5"  # 2 CPUs


def test_v2_own_cgroup_and_parents_smallest_wins(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {
        "app.slice/memory.max": str(GIB),
        "app.slice/web.service/memory.max": "max",
        "app.slice/web.service/cpu.max": "100000 100000",
    })
    # 1 GiB -> 4 by memory; 1 CPU -> 3.
    assert concurrency(tmp_path, "8", shell, "0::/app.slice/web.service\n", 16 * GIB // 1024) == "3"


def test_v2_without_limits_uses_the_machine(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory.max": "max", "cpu.max": "max 100000"})
    assert concurrency(tmp_path, "4", shell, "0::/\n", 64 * GIB // 1024) == "9"
    assert concurrency(tmp_path, "4", shell, "0::/\n", 768 * MIB // 1024) == "3"


# --- cgroup v1 ------------------------------------------------------------------------

V1_SELF = "12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n"


def test_v1_container_mount(tmp_path: Path, shell: str) -> None:
    # Docker mounts the container's own cgroup at the controller's root: /docker/abc is absent.
    files(tmp_path, {"memory/memory.limit_in_bytes": str(GIB),
                     "cpu,cpuacct/cpu.cfs_quota_us": "200000",
                     "cpu,cpuacct/cpu.cfs_period_us": "100000"})
    assert concurrency(tmp_path, "16", shell, V1_SELF, 64 * GIB // 1024) == "4"


def test_v1_unlimited_falls_back_to_mem_total_and_cpus(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712",
                     "cpu,cpuacct/cpu.cfs_quota_us": "-1",
                     "cpu,cpuacct/cpu.cfs_period_us": "100000"})
    assert concurrency(tmp_path, "2", shell, V1_SELF, 2 * GIB // 1024) == "5"
    assert concurrency(tmp_path, "2", shell, V1_SELF, 512 * MIB // 1024) == "2"


def test_v1_nested_host_cgroup(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712",
                     "memory/process_api/x/memory.limit_in_bytes": str(300 * MIB)})
    assert concurrency(tmp_path, "8", shell, "4:memory:/process_api/x\n", 16 * GIB // 1024) == "1"


# --- what is missing or odd -----------------------------------------------------------

def test_nothing_known_but_cpus(tmp_path: Path, shell: str) -> None:
    (tmp_path / "cgroup").mkdir()
    assert concurrency(tmp_path, "3", shell) == "7"


@pytest.mark.parametrize("cpus", ["", "0", "x", "-2"])
def test_bad_cpu_count_means_one(tmp_path: Path, shell: str, cpus: str) -> None:
    (tmp_path / "cgroup").mkdir()
    assert concurrency(tmp_path, cpus, shell) == "3"


def test_tiny_memory_still_one_worker(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory.max": str(64 * MIB)})
    assert concurrency(tmp_path, "8", shell, "0::/\n", 16 * GIB // 1024) == "1"


def test_garbage_values_are_ignored(tmp_path: Path, shell: str) -> None:
    files(tmp_path, {"memory.max": "lots", "cpu.max": "", "memory.high": str(MIB)})
    assert concurrency(tmp_path, "2", shell, "0::/\n", GIB // 1024) == "4"


def test_file_without_newline(tmp_path: Path, shell: str) -> None:
    (tmp_path / "cgroup").mkdir()
    (tmp_path / "cgroup" / "memory.max").write_text(str(512 * MIB))
    assert concurrency(tmp_path, "8", shell, "0::/", 16 * GIB // 1024) == "2"


def test_this_machine_gives_a_positive_count() -> None:
    script = (f'. "{WEB_CONCURRENCY_SCRIPT}"; _python_web_concurrency /sys/fs/cgroup '
              '/proc/self/cgroup /proc/meminfo "$(nproc)"')
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert out.stderr == ""
    assert int(out.stdout) >= 1
