"""The import structure of lus_unet: no cycle between modules or packages; models stay plain.

The imports are read statically (``ast``), not executed: every ``import`` and ``from ...
import`` statement anywhere in a file counts, at module level, inside functions and under
``if TYPE_CHECKING:``, because a cycle that only bites in a function or a type checker is a
cycle still. An import of ``lus_unet.a.b`` is an edge to that module and to the packages above
it that Python runs first (``lus_unet/a/__init__.py``), except the importer's own ancestors,
which are already being imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "lus_unet"

# What a network may not depend on: models are plain nn.Modules, usable without a trainer or
# a config system.
FORBIDDEN_IN_MODELS = ("lightning", "pytorch_lightning", "hydra")

Graph = dict[str, set[str]]


def module_files(package_dir: Path) -> dict[str, Path]:
    """Every module of a package by dotted name (a package's name is its ``__init__.py``).

    Args:
        package_dir: the package's folder; its name is the top-level package name.
    """
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(path: Path, module: str) -> Iterator[str]:
    """Dotted names every import statement of a file refers to, relative imports resolved.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module or a name).

    Args:
        path: the source file.
        module: its dotted module name.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(package_dir: Path) -> Graph:
    """Module -> the package's modules it imports (see the module notes for parent packages).

    Args:
        package_dir: the package's folder.
    """
    modules = module_files(package_dir)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        own = {name, *_ancestors(name)}
        for target in imported_names(path, name):
            # The most specific module the name lies in: `pkg.mod.func` is `pkg.mod`.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target:
                graph[name] |= {m for m in (*_ancestors(target), target) if m not in own}
    return graph


def third_party_imports(package_dir: Path) -> dict[str, set[str]]:
    """Module -> top-level names of the other distributions it imports.

    Args:
        package_dir: the package's folder.
    """
    top = package_dir.name
    out = {}
    for name, path in module_files(package_dir).items():
        roots = {n.split(".")[0] for n in imported_names(path, name) if n}
        out[name] = roots - {top}
    return out


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of the graph as ``[a, b, ..., a]``, or None when it has none.

    Args:
        graph: node -> the nodes it points to.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def package_graph(graph: Graph, package_dir: Path) -> Graph:
    """The module graph collapsed to units: each subpackage, and each top-level module.

    Args:
        graph: from :func:`import_graph`.
        package_dir: the package's folder.
    """
    top = package_dir.name

    def unit(module: str) -> str:
        parts = module.split(".")
        return (
            ".".join(parts[:2]) if len(parts) > 2 or (package_dir / parts[-1]).is_dir() else module
        )

    units: Graph = {}
    for source, targets in graph.items():
        if source == top:
            continue
        edges = units.setdefault(unit(source), set())
        edges |= {unit(t) for t in targets if t != top and unit(t) != unit(source)}
    return units


def reachable(graph: Graph, starts: list[str]) -> set[str]:
    """Every node reachable from ``starts``, the starts included.

    Args:
        graph: node -> the nodes it points to.
        starts: where to begin.
    """
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def forbidden_in(package_dir: Path, subpackage: str, forbidden: tuple[str, ...]) -> list[str]:
    """``module imports name`` for each forbidden import a subpackage makes, even indirectly.

    Args:
        package_dir: the package's folder.
        subpackage: dotted name of the subpackage whose modules are checked.
        forbidden: top-level names of the distributions it may not import.
    """
    graph = import_graph(package_dir)
    own = [m for m in graph if m == subpackage or m.startswith(f"{subpackage}.")]
    external = third_party_imports(package_dir)
    return [
        f"{module} imports {name} (reached from {subpackage})"
        for module in sorted(reachable(graph, own))
        for name in sorted(external[module] & set(forbidden))
    ]


# --------------------------------------------------------------------------- lus_unet


def test_lus_unet_modules_import_no_cycle() -> None:
    cycle = find_cycle(import_graph(PACKAGE_DIR))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_lus_unet_packages_import_no_cycle() -> None:
    # Subpackages and top-level modules form layers: training and evaluation may both use
    # metrics, but neither may import the other back.
    graph = package_graph(import_graph(PACKAGE_DIR), PACKAGE_DIR)
    assert "lus_unet.metrics" in graph and "lus_unet.figures" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_models_import_no_lightning_or_hydra() -> None:
    assert forbidden_in(PACKAGE_DIR, "lus_unet.models", FORBIDDEN_IN_MODELS) == []


# ----------------------------------------------------- the checks catch what they should


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A package ``pkg`` under ``root`` from relative paths and sources; returns its folder."""
    for rel, source in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


def test_finds_a_cycle_through_a_function_and_a_type_checking_block(tmp_path: Path) -> None:
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "def f():\n    from pkg.b import g\n    return g\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n",
            "c.py": "import pkg.a\n",
        },
    )
    assert find_cycle(import_graph(pkg)) in (
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.b", "pkg.a", "pkg.b"],
    )


def test_a_package_importing_its_own_modules_is_no_cycle(tmp_path: Path) -> None:
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "x/__init__.py": "from pkg.x.m import f\n",
            "x/m.py": "from pkg.x import k\nfrom . import k as k2\n",
            "x/k.py": "import numpy\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.x"] == {"pkg.x.m"} and graph["pkg.x.m"] == {"pkg.x.k"}
    assert find_cycle(graph) is None


def test_an_init_that_imports_its_importer_is_a_cycle(tmp_path: Path) -> None:
    # pkg.y.n imports pkg.x.m, so Python first runs pkg/x/__init__.py, which imports pkg.y.n.
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "x/__init__.py": "from pkg.y.n import g\n",
            "x/m.py": "",
            "y/__init__.py": "",
            "y/n.py": "from pkg.x.m import f\n",
        },
    )
    assert find_cycle(import_graph(pkg)) is not None


def test_finds_a_cycle_between_packages_without_one_between_modules(tmp_path: Path) -> None:
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "train/__init__.py": "",
            "train/module.py": "from pkg.evaluation.metrics import dice\n",
            "train/metrics.py": "",
            "evaluation/__init__.py": "",
            "evaluation/metrics.py": "from pkg.train.metrics import per_image\n",
            "cli.py": "from pkg.train.module import fit\n",
        },
    )
    graph = import_graph(pkg)
    assert find_cycle(graph) is None
    units = package_graph(graph, pkg)
    assert units["pkg.cli"] == {"pkg.train"}
    assert find_cycle(units) in (
        ["pkg.evaluation", "pkg.train", "pkg.evaluation"],
        ["pkg.train", "pkg.evaluation", "pkg.train"],
    )


@pytest.mark.parametrize(
    "source",
    [
        "import lightning as L\n",
        "def f():\n    from lightning.pytorch import Trainer\n",
        "import pytorch_lightning\n",
        "from hydra.utils import instantiate\n",
    ],
)
def test_finds_lightning_or_hydra_in_models_even_through_a_helper(
    tmp_path: Path, source: str
) -> None:
    pkg = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "models/__init__.py": "from pkg.models.net import Net\n",
            "models/net.py": "import torch\nfrom pkg.helpers import util\n",
            "helpers.py": source,
            "training.py": "import lightning\n",
        },
    )
    (problem,) = forbidden_in(pkg, "pkg.models", FORBIDDEN_IN_MODELS)
    assert problem.startswith("pkg.helpers imports ")
    (pkg / "helpers.py").write_text("import numpy\n")
    assert forbidden_in(pkg, "pkg.models", FORBIDDEN_IN_MODELS) == []
