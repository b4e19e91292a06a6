"""The package-manager records: complete, and what detection, allowlist and checks read."""
from __future__ import annotations

import pytest

from buildpack.base import hashing, settings
from buildpack.installers import managers
from buildpack.installers.managers import MANAGERS
from buildpack.installers.pinned_tools import TOOLS
from buildpack.installers.subprocess_env import INSTALLER_ALLOWLIST, installer_settings
from buildpack.plan import python_choice


@pytest.mark.parametrize("manager", MANAGERS, ids=[f"{m.name}-{m.engine}" if m.engine else m.name
                                                    for m in MANAGERS])
def test_record_is_complete(manager: managers.Manager) -> None:
    assert manager.pins()[0].is_file()
    if manager.tool is not None:
        assert manager.tool.requirements.is_file()
        assert manager.tool.version()
    if manager.manifest is not None:
        assert manager.lock_command and manager.lockfile in (manager.lock_command.split()[0] + ".lock",
                                                             "Pipfile.lock")
    for name in manager.config_vars:
        assert name in INSTALLER_ALLOWLIST


def test_allowlist_is_the_records_plus_the_network() -> None:
    assert "PIPENV_TIMEOUT" in INSTALLER_ALLOWLIST and "HTTPS_PROXY" in INSTALLER_ALLOWLIST
    assert "POETRY_HTTP_BASIC_PRIVATE_PASSWORD" in INSTALLER_ALLOWLIST
    assert "LD_PRELOAD" not in INSTALLER_ALLOWLIST and "PYTHONPATH" not in INSTALLER_ALLOWLIST


def test_installer_settings_config_vars_win_and_blanks_drop() -> None:
    found = installer_settings({"PIP_INDEX_URL": "http://a/", "UV_INDEX": " ", "HOME": "/root"},
                               {"PIP_INDEX_URL": " http://b/ ", "PYTHONPATH": "/x"})
    assert found == {"PIP_INDEX_URL": "http://b/"}


def test_min_python_comes_from_the_record() -> None:
    assert managers.POETRY.min_python == (3, 10) and managers.UV.min_python is None
    # (pip 26.3 itself runs on 3.10+: 3.9 fails on pip, whatever the manager)
    assert python_choice.tool_support_error((3, 10), managers.POETRY) is None
    assert python_choice.tool_support_error((3, 10), managers.UV) is None
    error = python_choice.tool_support_error((3, 9), managers.UV)
    assert error is not None and error.error_id == "package-manager::python-too-old"


def test_both_engines_of_requirements_txt_are_records_of_the_same_shape() -> None:
    assert managers.BY_ENGINE == {"uv": managers.PIP_WITH_UV, "pip": managers.PIP}
    assert managers.BY_LOCKFILE["requirements.txt"] is managers.PIP_WITH_UV  # the default
    for record in managers.BY_ENGINE.values():
        assert (record.name, record.lockfile, record.config_vars) == (
            "pip", "requirements.txt", managers.PIP.config_vars)
    # Only uv installs pip itself.
    assert managers.PIP_WITH_UV.installs_pip and not managers.PIP.installs_pip
    # The cache key names the engine when it is not the manager itself.
    pip = settings.pinned_pip_version()
    uv_pin = hashing.hash_files([TOOLS["uv"].requirements], settings.VENDOR_DIR / "tools")
    assert managers.PIP_WITH_UV.installer_version() == f"{pip} with uv:{uv_pin}"
    assert managers.UV.installer_version() == f"{pip}:{uv_pin}"
    assert managers.PIP.installer_version() == managers.NO_DEPENDENCIES.installer_version() == pip
