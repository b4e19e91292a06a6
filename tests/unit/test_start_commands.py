"""Issue 24, item 6 (and 9's "one package deep"): default web commands for Streamlit,
Gradio, the app's own console script, and web apps one package down (a uv workspace
member built from the root); the log names no Procfile that does not exist."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildpack.app import processes
from buildpack.app.app_files import AppFiles
from tests.support import write_app

SITE = ".heroku/python/lib/python3.13/site-packages"


def _app(tmp_path: Path, files: dict[str, str], packages: tuple[str, ...] = (),
         scripts: tuple[str, ...] = ()) -> tuple[Path, Path]:
    installed = {f"{SITE}/{name}/__init__.py": "" for name in packages}
    installed.update({f".heroku/python/bin/{name}": "#!/bin/sh\n" for name in scripts})
    app = write_app(tmp_path, {**files, **installed})
    return app, app / ".heroku/python"


def _default(app: Path, prefix: Path) -> processes.Default:
    return processes.default_web(app, prefix, AppFiles(app))


def test_streamlit(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"streamlit_app.py": "import streamlit as st\nst.title('hi')\n",
                                  "helpers.py": "x = 1\n"}, ("streamlit",))
    default = _default(app, prefix)
    assert default.command == ("streamlit run streamlit_app.py --server.port $PORT "
                               "--server.address 0.0.0.0")
    assert "streamlit_app.py is a Streamlit app" in default.reason


def test_streamlit_not_installed_gives_nothing(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"dash.py": "from streamlit import title\n"})
    assert _default(app, prefix).command is None


def test_two_streamlit_files_are_a_tie(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"a.py": "import streamlit\n", "b.py": "import streamlit\n"},
                       ("streamlit",))
    default = _default(app, prefix)
    assert default.command is None and "a.py and b.py each import Streamlit" in default.reason


def test_gradio(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"app.py": "import gradio as gr\ndemo = gr.Interface()\n"
                                            'if __name__ == "__main__":\n    demo.launch()\n'},
                       ("gradio",))
    assert _default(app, prefix).command == \
        "GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT=$PORT python app.py"


def _project_script(tmp_path: Path, module_text: str, name: str = "serve-it") -> tuple[Path, Path]:
    dist = f"{SITE}/mytool-1.0.dist-info/entry_points.txt"
    return _app(tmp_path, {"src/mytool/__init__.py": "", "src/mytool/cli.py": module_text,
                           dist: f"[console_scripts]\n{name} = mytool.cli:main\n",
                           f"{SITE}/other-2.0.dist-info/entry_points.txt":
                               "[console_scripts]\nother = other.main:run\n"},
                scripts=(name, "other"))


@pytest.mark.parametrize("text", [
    "import os, uvicorn\ndef main():\n    uvicorn.run('mytool.api:app', port=int(os.environ['PORT']))\n",
    "import os\ndef main():\n    serve(port=os.getenv('PORT', '8000'))\n",
    "from http.server import HTTPServer\ndef main():\n    HTTPServer(('', 8000), H).serve_forever()\n",
])
def test_a_single_console_script_that_serves_http_is_web(tmp_path: Path, text: str) -> None:
    default = _default(*_project_script(tmp_path, text))
    assert default.command == "serve-it"
    assert "the app's only console script `serve-it` ([project.scripts]: mytool.cli:main) serves HTTP" \
        in default.reason


def test_a_console_script_that_serves_nothing_is_suggested(tmp_path: Path) -> None:
    default = _default(*_project_script(tmp_path, "def main():\n    print('hello')\n"))
    assert default.command is None
    assert "does not look like a web server" in default.reason
    assert "`web: serve-it`, or `worker: serve-it`" in default.reason


def test_a_package_one_level_down_is_served_from_its_folder(tmp_path: Path) -> None:
    """fastapi/full-stack-fastapi-template built from the workspace root: backend/app/main.py."""
    main = "from fastapi import FastAPI\n\napp = FastAPI(\n    title='x',\n)\n"
    app, prefix = _app(tmp_path, {"backend/pyproject.toml": "", "backend/app/__init__.py": "",
                                  "backend/app/main.py": main, "frontend/src/x.ts": ""},
                       ("fastapi", "uvicorn"))
    default = _default(app, prefix)
    assert default.command == "uvicorn app.main:app --app-dir backend --host 0.0.0.0 --port $PORT"
    assert "backend/app/main.py creates the FastAPI app `app`" in default.reason
    write_app(app, {".heroku/python/bin/gunicorn": "#!/bin/sh\n",
                    f"{SITE}/uvicorn_worker/__init__.py": ""}, name=".")
    assert _default(app, prefix).command == \
        "gunicorn -k uvicorn_worker.UvicornWorker --chdir backend app.main:app"


def test_flask_in_src_layout(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"src/shop/__init__.py": "from flask import Flask\napp = Flask(__name__)\n"},
                       ("flask",), ("gunicorn",))
    assert _default(app, prefix).command == "gunicorn --chdir src shop:app"


def test_a_top_level_app_wins_over_a_deeper_one(tmp_path: Path) -> None:
    app, prefix = _app(tmp_path, {"web/__init__.py": "app = Flask(__name__)\n",
                                  "other/pkg/__init__.py": "", "other/pkg/app.py": "app = Flask(__name__)\n"},
                       ("flask",), ("gunicorn",))
    assert _default(app, prefix).command == "gunicorn web:app"


def test_the_log_names_no_procfile_that_does_not_exist(tmp_path: Path, capsys) -> None:
    app, prefix = _app(tmp_path, {"streamlit_app.py": "import streamlit\n"}, ("streamlit",))
    files = AppFiles(app)
    processes.log_discovery(processes.read(files, ""), files, prefix)
    out = capsys.readouterr().out
    assert "       No Procfile\n" in out and "Procfile declares" not in out
    assert "       web: streamlit run streamlit_app.py --server.port $PORT --server.address 0.0.0.0\n" in out
