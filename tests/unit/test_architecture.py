"""The rules of docs/architecture.md ("Rules the tree enforces"), read from the source.

Every ``import`` and ``from ... import`` statement of the product, the emulator and the
benchmarks, at module level and inside functions, read with ``ast`` (nothing is imported):
the run-time folders import one way, the construct imports only ``model/`` and ``changed/``,
the emulator imports nothing of the product, and no module imports itself round a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = "cloudfront_purge"
CONSTRUCT = "cdk_cloudfront_invalidation"
#: (folder, the folder its packages are named from): lambda/ and constructs/ are source
#: roots; localcloud/ and bench/ are packages at the top of the checkout.
SOURCES = (
    (REPO / "lambda" / RUNTIME, REPO / "lambda"),
    (REPO / "constructs" / CONSTRUCT, REPO / "constructs"),
    (REPO / "localcloud", REPO),
    (REPO / "bench", REPO),
)
#: docs/architecture.md, "Imports run one way": the folders of cloudfront_purge each may
#: import (besides itself, and the package root, which holds only ``__version__``).
MAY_IMPORT = {
    "cli": {"engine", "changed", "prune", "model"},
    "resource": {"engine", "changed", "prune", "function", "model"},
    "prune": {"changed", "model"},
    "function": {"model"},
    "engine": {"model"},
    "changed": {"model"},
    "model": set(),
}
#: What the construct may import of cloudfront_purge at synth.
CONSTRUCT_MAY_IMPORT = {"model", "changed"}


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the four source folders."""
    found: dict[str, Path] = {}
    for folder, root in SOURCES:
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every name ``module`` imports, absolute: ``from . import x`` resolved, and
    ``from a import b`` as ``a.b`` when that is a module, else ``a``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                yield candidate if candidate in MODULES else source


def resolve(name: str) -> str | None:
    """The module of ours that ``name`` is or lies in (None: the standard library, or a
    third-party package)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {resolve(name) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


GRAPH = import_graph()


def folder_of(module: str) -> str | None:
    """The cloudfront_purge folder (``engine``, ``model``...) that holds ``module``."""
    parts = module.split(".")
    return parts[1] if parts[0] == RUNTIME and len(parts) > 1 else None


def test_every_run_time_folder_has_its_rule() -> None:
    """A folder added to cloudfront_purge needs its line in MAY_IMPORT (and in the doc)."""
    folders = {path.parent.name for path in (REPO / "lambda" / RUNTIME).glob("*/__init__.py")}
    assert folders == set(MAY_IMPORT)
    assert {RUNTIME, CONSTRUCT, "localcloud", "bench"} <= {m.split(".")[0] for m in GRAPH}


def may_import(folder: str, target: str) -> bool:
    """Whether a module of cloudfront_purge's ``folder`` may import ``target``."""
    top = target.split(".")[0]
    if top == CONSTRUCT:
        return False  # nothing imports the construct side at run time
    if top != RUNTIME or target == RUNTIME:
        return True
    return folder_of(target) in MAY_IMPORT[folder] | {folder}


@pytest.mark.parametrize("folder", sorted(MAY_IMPORT))
def test_the_run_time_folders_import_one_way(folder: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if folder_of(module) == folder
        for target in targets
        if not may_import(folder, target)
    )
    assert wrong == []


def test_the_construct_imports_only_model_and_changed() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == CONSTRUCT
        for target in targets
        if target.split(".")[0] == RUNTIME
        and target != RUNTIME  # the package root: __version__, and where its files are
        and folder_of(target) not in CONSTRUCT_MAY_IMPORT
    )
    assert wrong == []


def test_the_emulator_imports_nothing_of_the_product() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == "localcloud"
        for target in targets
        if target.split(".")[0] in (RUNTIME, CONSTRUCT)
    )
    assert wrong == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_emulators_service_folders_depend_one_way() -> None:
    # A folder per AWS service (cloudfront/, awslambda/, cloudformation/, iam/, s3/, traffic/):
    # read as boxes, their imports form no cycle, so each can be understood from the ones it
    # uses. The scripts on top and the shared modules beside them are not boxes.
    def box(module: str) -> str | None:
        parts = module.split(".")
        is_folder = len(parts) > 1 and (REPO / "localcloud" / parts[1]).is_dir()
        return parts[1] if parts[0] == "localcloud" and is_folder else None

    boxes: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        for target in targets:
            mine, theirs = box(module), box(target)
            if mine is not None and theirs is not None and mine != theirs:
                boxes.setdefault(mine, set()).add(theirs)
    assert boxes, "no localcloud folder imports another: the graph was not read"
    assert cycles(boxes) == []
