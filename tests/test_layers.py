"""Imports only point down, and no module imports itself round a circle (ARCHITECTURE.md,
"Layers and rooms"). Every import counts, lazy ones and ``TYPE_CHECKING`` ones included:
each still says which module this one needs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("live_attune", "calibration")

# Floors, bottom first. A module may import from its own room or from a lower floor, never
# from a higher one nor from another room on its own floor.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("live_attune", "live_attune._runtime", "live_attune.paths", "live_attune.errors",
     "live_attune.csv_cells", "live_attune.atomic", "live_attune.core"),  # the base: one room
    ("live_attune.audio",),
    ("live_attune.speakers", "live_attune.asr", "live_attune.prosody", "live_attune.synth",
     "live_attune.language"),
    ("live_attune.store",),
    ("live_attune.session",),
    ("live_attune.report",),

    ("live_attune.server", "calibration"),
    ("live_attune.cli", "live_attune.commands", "live_attune.commands_store",
     "live_attune.commands_calibrate"),
    ("live_attune.__main__",),  # `python -m live_attune`: the command, run
)
BASE = FLOORS[0]


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def room(module: str) -> str:
    """The room (entry of FLOORS) that holds ``module``: its longest matching prefix."""
    best = ""
    for name in (n for floor in FLOORS for n in floor):
        if (module == name or module.startswith(name + ".")) and len(name) > len(best):
            best = name
    if not best or (best == "live_attune" and module != "live_attune"):
        raise AssertionError(f"{module} is on no floor: add it to FLOORS in {__file__}")
    return "base" if best in BASE else best


def floor(module: str) -> int:
    r = room(module)
    return 0 if r == "base" else next(i for i, f in enumerate(FLOORS) if r in f)


def imports(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module of ours that ``module`` imports (``from a import b``: a.b if a module)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*parent, *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                while name not in known:  # a name inside a module: the module
                    name = name.rpartition(".")[0]
                yield name


def graph() -> dict[str, set[str]]:
    found = modules()
    return {m: set(imports(m, p, set(found))) - {m} for m, p in found.items()}


def test_every_module_has_a_floor() -> None:
    for module in modules():
        room(module)


def test_imports_point_down() -> None:
    wrong = []
    for module, targets in graph().items():
        for target in targets:
            if room(target) == room(module) or target == "live_attune":
                continue  # its own room; the package root is everyone's base
            if floor(target) >= floor(module):
                wrong.append(f"{module} (floor {floor(module)}) imports {target} "
                             f"(floor {floor(target)})")
    assert not wrong, "imports that do not point down:\n" + "\n".join(sorted(wrong))


def test_no_circle() -> None:
    g = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    circles = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(g[m]):
            if state.get(t) == 1:
                circles.append(" → ".join([*path[path.index(t):], t]))
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    assert not circles, "import circles:\n" + "\n".join(circles)
