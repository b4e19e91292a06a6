"""Secrets from ENV_DIR never reach the build log or the slug's generated files."""
from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.slow

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY",
    "API_TOKEN": "tok_live_9f8e7d6c5b4a3928",
    "DATABASE_PASSWORD": "correct-horse-battery-staple",
    "STRIPE_KEY": "sk_test_51HxYzAbCdEfGh",
    "SESSION_SECRET": "s3ss10n-s3cr3t-v4lu3",
}
INDEX_PASSWORD = "idx-pa55w0rd-123"
STORE_PASSWORD = "st0re-pa55w0rd-456"


def _env_dir(tmp_path, index_url):
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    for name, value in SECRETS.items():
        (env_dir / name).write_text(value)
    # The local index ignores credentials, so the build succeeds while pip sees them.
    (env_dir / "PIP_INDEX_URL").write_text(
        index_url.replace("http://", f"http://deploy:{INDEX_PASSWORD}@"))
    return env_dir


def _assert_clean(text, where):
    for value in [*SECRETS.values(), INDEX_PASSWORD, STORE_PASSWORD]:
        assert value not in text, f"secret {value[:6]}... found in {where}"


def _generated_files(app):
    for path in [*(app / ".profile.d").glob("*"), app / ".release"]:
        if path.is_file():
            yield path


@pytest.mark.parametrize("requirements, ok, installer", [("Flask==3.1.3\n", True, "uv"),
                                                         ("Flask==3.1.3\n", True, "pip"),
                                                         ("no-such-package-zzz==1.0\n", False, "uv")])
def test_secrets_never_in_log_or_slug(tmp_path, runtime_store, package_index, figures,
                                      requirements, ok, installer):
    server = support.CountingStoreServer(runtime_store)
    try:
        store = server.url.replace("http://", f"http://builder:{STORE_PASSWORD}@")
        env = support.build_env(store, None)
        app = support.copy_fixture("flask-app", tmp_path)
        (app / "requirements.txt").write_text(requirements)
        env_dir = _env_dir(tmp_path, package_index.url)
        (env_dir / "PYTHON_INSTALLER").write_text(installer)
        result = support.compile_app(app, tmp_path / "cache", env, env_dir)
    finally:
        server.stop()
    figures.add("secrets", len(SECRETS) + 2)
    assert (result.returncode == 0) is ok, result.log[-2000:]
    if installer == "pip" and ok:
        assert "deploy:****@" in result.log  # pip names the index ("Looking in indexes"), masked
    assert "builder:****@" in result.log
    _assert_clean(result.log, "the build log")
    for path in _generated_files(app):
        _assert_clean(path.read_text(errors="replace"), str(path))
