"""Issue 21, "Done when": the bounded number parser and the cache-file reader are the only
ones of their kind.

An ast scan of ``buildpack/`` (as ``test_imports.py`` scans imports) finds:

- every ``int(...)`` and ``float(...)``: only ``base/numbers.py`` turns text into a
  number (ASCII digits, a length bound); the allow-list says why each other one is not
  outside input;
- every read of a file (``open``, ``os.open``, ``.read_text()``, ``.read_bytes()``,
  ``json.load``, ``tarfile``/``gzip``/``lzma``/``zipfile`` opens, ``file_sha256``): a file
  kept in CACHE_DIR or a layer is read only by ``base/cache_files.py``, an app file only
  by ``app/app_files.py``; the allow-list says, per function, what else it reads and why
  that is no CACHE_DIR file (or how it is bounded).

A new site fails the test until it is listed with its reason; a listed site that is gone
fails it too, so the list stays true.
"""
from __future__ import annotations

import ast

from tests.support import ROOT

NUMBERS: dict[tuple[str, str], str] = {
    ("base/numbers.py", "parse_int"): "the bounded parser itself (after its checks)",
    ("base/numbers.py", "parse_seconds"): "the bounded parser itself (after its checks)",
    ("store_builder/source_build.py", "unpack_source"):
        "a tar member's mtime, already a number (the operator's pinned, hash-checked source)",
}

READS: dict[tuple[str, str], str] = {
    # the two readers
    ("base/cache_files.py", "_open"): "THE reader of CACHE_DIR and layer files",
    ("base/bytecode_cache.py", "_read"): "the buildpack's bytecode kept in CACHE_DIR, read "
        "before cache_files is imported (it loads through it), with its checks: no link, no "
        "FIFO, a regular file, bounded",
    ("app/app_files.py", "_load"): "THE reader of the app's files",
    ("app/app_files.py", "head"): "app files: the start of one, through the same checks",
    ("app/app_files.py", "_open_dirs"): "opens folders (O_NOFOLLOW) to write into BUILD_DIR",
    ("app/app_files.py", "write_text"): "writes into BUILD_DIR",
    # the buildpack's own files (vendor/, its source)
    ("base/settings.py", "_json"): "vendor/*.json of the buildpack",
    ("base/settings.py", "pinned_version"): "vendor/ pins of the buildpack",
    ("base/settings.py", "pip_min_python"): "vendor/pip.txt of the buildpack",
    ("base/libraries.py", "pinned"): "vendor/libraries.txt of the buildpack",
    ("installers/uv_fetch.py", "pinned_hashes"): "vendor/tools/uv.txt of the buildpack",
    ("installers/pinned_tools.py", "folder"): "vendor/tools/*.txt of the buildpack",
    ("runtime/profile_d.py", "render_profile"): "the buildpack's own profile template",
    ("cnb/launch_env.py", "render_exec_d"): "the buildpack's own exec.d template",
    ("base/hashing.py", "hash_files"): "the buildpack's own files (the cache key's fingerprint)",
    # written by this build, in a private temp folder or the slug, before they are read
    ("base/libraries.py", "_download"): "a download of this build (temp file), size-bounded",
    ("installers/uv_fetch.py", "from_index"): "a download of this build (temp folder)",
    ("installers/uv_fetch.py", "_from_bundle"): "a copy this build just made (temp folder)",
    ("installers/uv_fetch.py", "fetch"): "the wheel this build downloaded and checked",
    ("installers/pinned_tools.py", "_seal"): "the binary this build just installed",
    ("runtime/store.py", "_fetch_once"): "writes a download of this build",
    ("runtime/store.py", "read_manifest"): "the manifest of a local store (the platform's)",
    ("base/http_client.py", "copy_stream"): "writes a download of this build",
    ("base/http_open.py", "open_url"): "an HTTP request (opener.open), no file",
    ("runtime/safe_extract.py", "extract_archive"):
        "an archive whose sha256 was checked first (runtime.install via cache_files.sha256)",
    ("runtime/safe_extract.py", "_decompressed"): "the same checked archive",
    ("base/hashing.py", "file_sha256"): "the hash of a file its caller names: see its callers",
    # the slug (BUILD_DIR), after the install wrote it
    ("installers/slug_cleanup.py", "fix_build_paths"): "installed files in the slug",
    ("installers/slug_cleanup.py", "_fix_direct_url"): "installed files in the slug",
    ("installers/slug_cleanup.py", "_fix_module"): "installed files in the slug",
    ("installers/slug_cleanup.py", "_fix_pth"): "installed files in the slug",
    ("installers/slug_cleanup.py", "_fix_record"): "installed files in the slug",
    ("installers/slug_cleanup.py", "_startup_modules"): "installed files in the slug",
    ("runtime/relocate.py", "rewrite_console_scripts"): "installed console scripts in the slug",
    ("runtime/bytecode_worker.py", "is_current"): "a source in the slug (a worker process)",
    ("runtime/bytecode_worker.py", "_header"): "bytecode in the slug, 16 bytes of a regular file "
                                               "(a worker process)",
    ("runtime/bytecode_worker.py", "compile_one"): "a source in the slug it compiles (a worker process)",
    ("runtime/bytecode_worker.py", "sources"): "the listing of sources this build wrote (a worker process)",
    ("installers/closure_worker.py", "main"): "installed metadata (a worker process in the slug)",
    ("app/processes.py", "app_scripts"): "installed console scripts in the slug",
    ("app_build/sbom.py", "source_pin"): "installed metadata in the slug",
    # the host and the platform
    ("base/platform_info.py", "current_stack"): "/etc/os-release of the host",
    ("runtime/signature.py", "public_key"): "the platform's public key file, size-bounded",
    ("runtime/signature.py", "verify"): "the signature of a local store, size-bounded",
    ("cache/env_cache.py", "locked"): "opens CACHE_DIR/.lock to lock it, after checking it is "
                                      "a plain file (nothing is read)",
}

# The operator's programs (not run by a build) read their own inputs.
_TOOLS = ("store_builder/", "tools/")


def _sites(kind: str) -> set[tuple[str, str]]:
    found = set()
    for path in sorted((ROOT / "buildpack").rglob("*.py")):
        rel = path.relative_to(ROOT / "buildpack").as_posix()
        tree = ast.parse(path.read_text())
        owner: dict[int, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    owner[id(inner)] = node.name  # breadth first: the innermost def last
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is(kind, node.func):
                found.add((rel, owner.get(id(node), "<module>")))
    return found


def _is(kind: str, func: ast.expr) -> bool:
    if kind == "number":
        return isinstance(func, ast.Name) and func.id in ("int", "float")
    if isinstance(func, ast.Name):
        return func.id in ("open", "file_sha256")
    if isinstance(func, ast.Attribute):
        if func.attr in ("read_text", "read_bytes"):
            return True
        if func.attr == "open":  # os.open, tarfile.open, a Path's .open(), an opener's
            return True
        return isinstance(func.value, ast.Name) and (
            (func.attr == "load" and func.value.id in ("json", "tomllib", "tomli")) or
            (func.attr == "ZipFile" and func.value.id == "zipfile"))
    return False


def test_numbers_from_text_only_in_base_numbers() -> None:
    found = _sites("number")
    assert found - set(NUMBERS) == set(), "int()/float() outside base/numbers.py: " \
        "parse with base.numbers, or list the site with the reason it is no outside input"
    assert set(NUMBERS) - found == set(), "listed sites that are gone"


def test_cache_files_read_only_by_base_cache_files() -> None:
    found = {site for site in _sites("read") if not site[0].startswith(_TOOLS)}
    assert found - set(READS) == set(), "a file read outside base/cache_files.py and " \
        "app/app_files.py: read CACHE_DIR files with cache_files, app files with AppFiles, " \
        "or list the site with what it reads"
    assert set(READS) - found == set(), "listed sites that are gone"


def test_file_sha256_never_hashes_a_cache_file() -> None:
    """``file_sha256`` streams any file: its callers in the build hash only files this
    build wrote; cached files are hashed by ``cache_files.sha256`` (bounded, no link,
    no FIFO)."""
    callers = set()
    for path in sorted((ROOT / "buildpack").rglob("*.py")):
        rel = path.relative_to(ROOT / "buildpack").as_posix()
        if rel.startswith(_TOOLS) or rel == "base/hashing.py":
            continue
        if "file_sha256(" in path.read_text():
            callers.add(rel)
    assert callers == {"base/libraries.py", "installers/uv_fetch.py", "installers/pinned_tools.py"}
