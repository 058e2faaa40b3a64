"""The package's floors: a module imports only from floors below its own (or its own
package), at module level or inside a function alike. So there is no import circle, and
a stage can be read, tested and replaced without what is built on it.

    7  cli                      the commands; presentation
    6  scheduler, web           long-running services over the store
    5  pipeline, digest         fetch → extract → tag → store; the weekly issue
    4  store                    SQLite or PostgreSQL
    3  fetch, extract, tag      the stages, pure apart from fetch's HTTP
    2  config                   settings, checked
    1  sources                  source types and their settings
    0  errors, decode, urls, logs, gazetteer, models, lock, tokens, demo (the bundled
       sites and their loopback server)
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sectorwatch"
FLOORS = {
    "__init__": 0, "errors": 0, "decode": 0, "urls": 0, "logs": 0, "gazetteer": 0,
    "models": 0.5, "lock": 0.5, "tokens": 0.5, "demo": 0,
    "sources": 1, "config": 2, "fetch": 3, "extract": 3, "tag": 3, "store": 4,
    "pipeline": 5, "digest": 5, "scheduler": 6, "web": 6, "cli": 7,
}


def unit(module: str) -> str:
    """The floor-level unit a dotted module name belongs to (its first name below the
    package): sectorwatch.digest.issue → digest, sectorwatch → __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_imports() -> dict[str, dict[str, int]]:
    """Every project module → the project modules it imports (→ the line)."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
               .removesuffix(".__init__"): p for p in sorted(PACKAGE.rglob("*.py"))}
    found: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        found[module] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] == "sectorwatch":
                names = [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("sectorwatch.")]
            for name in names:  # `from p import m` names a module m, or a thing in p
                target = name if name in modules else name.rpartition(".")[0]
                if target in modules and target != module:
                    found[module].setdefault(target, node.lineno)
    return found


def imports() -> dict[tuple[str, str], list[str]]:
    """(importer's unit, imported unit) → where, for every project import."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, targets in module_imports().items():
        for target, line in targets.items():
            here, there = unit(module), unit(target)
            if there != here and target != "sectorwatch":  # the package root: __version__
                found.setdefault((here, there), []).append(f"{module}:{line}")
    return found


def test_every_unit_has_a_floor():
    units = {unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
             for p in PACKAGE.rglob("*.py")} - {"__main__"}
    assert units <= set(FLOORS), f"give these a floor: {sorted(units - set(FLOORS))}"


def test_imports_only_run_down():
    upward = {f"{a} → {b} ({', '.join(where)})" for (a, b), where in imports().items()
              if FLOORS.get(b, 99) >= FLOORS.get(a, -1)}
    assert not upward, "imports that run up or across a floor:\n" + "\n".join(sorted(upward))


def test_the_check_sees_imports_inside_functions():
    found = imports()
    assert ("cli", "web") in found  # `serve` imports the web app inside its function
    assert all(FLOORS[a] > FLOORS[b] for a, b in found)


def test_no_module_imports_itself_round_a_circle():
    graph = module_imports()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                circles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(" → ".join(c) for c in circles)
