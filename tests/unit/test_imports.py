"""The import contract of ``buildpack/`` (docs/architecture.md, "The tree"): imports only
point down.

- Each folder is a layer; a module may import its own folder and the layers below it,
  never a layer above and never a sibling of its own layer.
- No import cycle between modules, not even inside one folder.
- No import of the buildpack under ``TYPE_CHECKING`` (that is how cycles hide), and a
  function-level import of the buildpack says why on its own line.

Read from the source with ``ast``: the test fails on the first import that breaks a rule.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "buildpack"

# Highest first. Folders on one line are siblings: neither imports the other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("tools",),           # programs around the build: local-deploy, the offline bundle
    ("commands",),        # one thin module per bin/ program
    ("store_builder",),   # bin/build-runtime-store: no build reaches it
    ("cnb", "slug"),      # the two targets
    ("steps",),           # the one algorithm: build.run(plan, target)
    ("plan",),            # inputs -> Plan
    ("app_build", "installers"),  # the app's build code; the package managers
    ("cache",),           # CACHE_DIR: the installed environment, the build report
    ("python_version",),  # which Python: version files, EOL policy, constraints
    ("runtime",),         # the store, its manifest, unpacking, relocation, run-time env
    ("app",),             # the app's files, its base folder, markers, Procfiles
    ("base",),            # output, redaction, children, HTTP, fs, settings
)
RANK = {name: len(LAYERS) - i for i, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}


def _folder(module: str) -> str:
    """The layer of ``buildpack.x.y`` is ``x``; ``buildpack.installers`` itself is ``installers``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _target(node: ast.ImportFrom | ast.Import) -> list[str]:
    """The buildpack modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("buildpack")]
    module = node.module or ""
    if not module.startswith("buildpack"):
        return []
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]


def _imports(path: Path) -> list[tuple[int, str, bool, bool]]:
    """(line, imported module, at function level, under TYPE_CHECKING) for each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((child.lineno, t, in_function, type_checking) for t in _target(child))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, in_function, True)
            else:
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)),
                      type_checking)

    visit(tree, False, False)
    return found


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def test_every_folder_has_a_layer():
    folders = {_folder(m) for m in MODULES if m.count(".") > 1 or (ROOT / _folder(m)).is_dir()}
    assert folders - {""} <= set(RANK), f"add these folders to LAYERS: {folders - set(RANK)}"
    assert {_folder(m) for m in MODULES if m.count(".") == 1} <= set(RANK) | {""}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    own = _folder(module)
    for line, target, _, _ in GRAPH[module]:
        other = _folder(target)
        if other == own or target == "buildpack":
            continue
        assert RANK[other] < RANK[own], (
            f"{MODULES[module]}:{line} imports {target}: the layer {other!r} is "
            f"{'above' if RANK[other] > RANK[own] else 'beside'} {own!r} (tests/unit/test_imports.py)")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_hidden_cycle_workarounds(module):
    lines = MODULES[module].read_text(encoding="utf-8").splitlines()
    for line, target, in_function, type_checking in GRAPH[module]:
        assert not type_checking, f"{MODULES[module]}:{line}: {target} imported only for type checking"
        if in_function:
            assert "#" in lines[line - 1], (
                f"{MODULES[module]}:{line}: a function-level import of {target} needs its reason "
                "in a comment on the same line")


def test_no_import_cycles():
    edges = {m: {t for _, t, _, _ in GRAPH[m] if t in MODULES and t != m} for m in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module):] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])


def test_the_contract_catches_an_upward_import(tmp_path):
    """The checker itself can fail: an upward import in a scratch module is found."""
    scratch = tmp_path / "x.py"
    scratch.write_text("from buildpack.steps import run\n"
                       "def f():\n    from buildpack.base import output\n")
    found = _imports(scratch)
    assert [(t, fn) for _, t, fn, _ in found] == [("buildpack.steps", False), ("buildpack.base.output", True)]
    assert RANK[_folder("buildpack.steps")] > RANK[_folder("buildpack.base.output")]
