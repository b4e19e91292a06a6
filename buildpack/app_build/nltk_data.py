"""``nltk.txt``: NLTK data (corpora, models) downloaded into the slug after the install.

As with the leader: ``nltk.txt`` in the app's folder names NLTK data ids (``punkt``,
``stopwords``, ``wordnet``), one or more per line, ``#`` comments allowed. After the
dependencies are installed, the app's own NLTK downloads each into
``.heroku/python/nltk_data``, and ``.profile.d`` points ``NLTK_DATA`` there at run time.

- The ids are read at plan time: an entry that is not an id fails the push
  (``nltk::invalid-entry``) before anything is installed.
- Without nltk installed the step is skipped, with a line saying so.
- An id the index does not have, or a download that fails, fails the build
  (``nltk::download-failed``) with NLTK's own message above the error.
- ``NLTK_DOWNLOAD_URL`` (NLTK's own variable, read from the config vars) points the
  downloader at another index, e.g. a mirror. NLTK refuses addresses that are not
  public (loopback, private networks) unless they are reached through a proxy it is
  told to trust (``http_proxy`` with ``NLTK_ALLOW_PROXIED_URLOPEN=1``, as config vars).
- The download runs with a socket timeout and a deadline (``DEADLINE`` seconds,
  ``process::timeout`` past it).
"""
from __future__ import annotations

import re
from pathlib import Path

from buildpack.app.app_files import AppFiles
from buildpack.base import output, slug_layout
from buildpack.base.children import run_streamed
from buildpack.base.output import BuildError

NLTK_TXT = "nltk.txt"
DATA_DIR = "nltk_data"  # inside the runtime's prefix
URL_VAR = "NLTK_DOWNLOAD_URL"
DEADLINE = 900
MAX_IDS = 500
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# Run in the app's Python: download every id, exit 1 at the first failure.
_DOWNLOAD = """\
import socket, sys
socket.setdefaulttimeout(60)
import nltk.downloader
url, target, ids = sys.argv[1] or None, sys.argv[2], sys.argv[3:]
downloader = nltk.downloader.Downloader(server_index_url=url)
for data_id in ids:
    try:
        downloader.download(data_id, download_dir=target, quiet=False, raise_on_error=True)
    except (ValueError, OSError) as exc:
        print(f"Could not download {data_id!r}: {exc}")
        sys.exit(1)
"""


def read_ids(files: AppFiles) -> list[str]:
    """The ids that ``nltk.txt`` names (empty without the file); an error for a bad entry."""
    path = files.app_dir / NLTK_TXT
    text = files.text(path, "requirements")
    if text is None:
        return []
    ids: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for entry in line.split("#", 1)[0].replace(",", " ").split():
            if not _ID.fullmatch(entry):
                raise BuildError(
                    f"{NLTK_TXT} line {number} is not an NLTK data id",
                    f"{NLTK_TXT} line {number} has {entry[:60]!r}. Each entry must be the id of\n"
                    "an NLTK data package, such as punkt, stopwords or wordnet (letters, digits,\n"
                    "'.', '_' and '-'), one or more per line; '#' starts a comment.",
                    error_id="nltk::invalid-entry")
            if entry not in ids:
                ids.append(entry)
    if len(ids) > MAX_IDS:
        raise BuildError(f"{NLTK_TXT} names more than {MAX_IDS} data packages",
                         f"It names {len(ids)}. Keep the ones the app uses.",
                         error_id="nltk::invalid-entry")
    return ids


def download(ids: list[str], python: Path, env: dict[str, str], secrets: list[str],
             app_dir: Path, url: str | None, runtime_path: str) -> None:
    """Download ``ids`` into the runtime's prefix with the app's own NLTK.

    ``runtime_path`` is where the prefix is when the app runs (``/app/.heroku/python``,
    or the CNB python layer): the log names that place."""
    if not ids:
        return
    prefix = python.parent.parent
    output.step(f"Downloading NLTK data ({NLTK_TXT})")
    if not slug_layout.installed(prefix, "nltk"):
        output.detail(f"Skipped: {NLTK_TXT} is there, but nltk is not installed. Add nltk to\n"
                      "the app's dependencies to have its data downloaded during the build.")
        return
    target = prefix / DATA_DIR
    output.detail(f"{', '.join(ids)} into {runtime_path}/{DATA_DIR}"
                  + (f" (index: {URL_VAR})" if url else ""))
    cmd = [str(python), "-I", "-c", _DOWNLOAD, url or "", str(target), *ids]
    code, _ = run_streamed(cmd, env, app_dir, secrets, timeout=DEADLINE)
    if code != 0:
        raise BuildError(
            f"Could not download the NLTK data that {NLTK_TXT} names",
            f"NLTK's downloader failed; its message is above. Check that each id in\n"
            f"{NLTK_TXT} exists in the NLTK data index (python -m nltk.downloader -l lists\n"
            f"them) and, if the config var {URL_VAR} is set, that its index is reachable.",
            error_id="nltk::download-failed")
