"""Private indexes: credentials from config vars work for pip, uv and Poetry, wrong ones
and unreachable indexes fail clearly, and no credential ever reaches the build log."""
from __future__ import annotations

import secrets

import pytest

from tests import support

pytestmark = pytest.mark.slow

USER = "deploy"


@pytest.fixture(scope="module")
def password() -> str:
    return "pw-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def private_index(package_index, password, tmp_path_factory):
    index = support.start_private_index(support.ensure_tool_packages(),
                                        tmp_path_factory.mktemp("private-index"), USER, password)
    yield index
    index.stop()


def _with_credentials(url: str, password: str) -> str:
    return url.replace("http://", f"http://{USER}:{password}@")


def _env_dir(tmp_path, values: dict[str, str]):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    for name, value in values.items():
        (env_dir / name).write_text(value)
    return env_dir


def _app(tmp_path, requirements: str):
    return support.write_app(tmp_path, {"requirements.txt": requirements})


def _build(app, tmp_path, runtime_store, config: dict[str, str]):
    return support.compile_app(app, tmp_path / "cache", support.build_env(str(runtime_store), None),
                               env_dir=_env_dir(tmp_path, config))


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_pip_with_credentials_in_the_index_url(tmp_path, runtime_store, private_index, password,
                                               engine):
    app = _app(tmp_path, "six==1.17.0\n")
    result = _build(app, tmp_path, runtime_store,
                    {"PIP_INDEX_URL": _with_credentials(private_index.url, password),
                     "PYTHON_INSTALLER": engine})
    assert result.returncode == 0, result.log
    if engine == "pip":
        assert f"Looking in indexes: http://{USER}:****@127.0.0.1" in result.stdout
    else:  # uv reads PIP_INDEX_URL as its default index (uv, pip and six came from it)
        assert "-----> Installing uv 0.13.9" in result.stdout
        assert "        + six==1.17.0" in result.stdout
    assert password not in result.log


def test_wrong_credentials_fail_clearly(tmp_path, runtime_store, private_index, password):
    wrong = password[::-1]
    app = _app(tmp_path, "six==1.17.0\n")
    result = _build(app, tmp_path, runtime_store,
                    {"PIP_INDEX_URL": _with_credentials(private_index.url, wrong)})
    assert result.returncode == result.failure_exit, result.log
    assert "the package index refused the credentials." in result.stderr
    assert wrong not in result.log and password not in result.log
    assert "Traceback" not in result.log


def test_unreachable_index_fails_clearly(tmp_path, runtime_store, password):
    url = f"http://{USER}:{password}@127.0.0.1:{support.free_port()}/simple/"
    app = _app(tmp_path, "six==1.17.0\n")
    result = _build(app, tmp_path, runtime_store, {"PIP_INDEX_URL": url, "PIP_RETRIES": "1"})
    assert result.returncode == result.failure_exit, result.log
    assert "the package index could not be reached." in result.stderr
    assert password not in result.log
    assert "Traceback" not in result.log


@pytest.mark.parametrize("fixture, credentials", [
    ("uv-app", {"UV_INDEX_LOCAL_USERNAME": USER, "UV_INDEX_LOCAL_PASSWORD": "{password}"}),
    ("poetry-app", {"POETRY_HTTP_BASIC_LOCAL_USERNAME": USER,
                    "POETRY_HTTP_BASIC_LOCAL_PASSWORD": "{password}"}),
])
def test_lock_from_a_private_index(fixture, credentials, tmp_path, runtime_store, private_index,
                                   password):
    values = {k: v.format(password=password) for k, v in credentials.items()}
    python = support.find_prefix("3.13") / "bin" / "python3.13"
    app = support.lock_fixture(fixture, tmp_path / "src", private_index.url, python, values)
    config = {"PIP_INDEX_URL": _with_credentials(private_index.url, password), **values}
    result = support.compile_app(app, tmp_path / "cache",
                                 support.build_env(str(runtime_store), None),
                                 env_dir=_env_dir(tmp_path, config))
    assert result.returncode == 0, result.log
    assert "six" in support.installed_distributions(app)
    assert password not in result.log
    # Wrong credentials for the lock's index: a clear failure, still nothing leaked.
    wrong = password[::-1]
    config.update({k: v.replace(password, wrong) for k, v in values.items()})
    (tmp_path / "env").rename(tmp_path / "env-good")
    retry = support.compile_app(app, tmp_path / "cache-2",
                                support.build_env(str(runtime_store), None),
                                env_dir=_env_dir(tmp_path, config))
    assert retry.returncode == retry.failure_exit, retry.log
    assert "the package index refused the credentials." in retry.stderr
    assert wrong not in retry.log and password not in retry.log
