"""Mutation check of the METRICS.md thresholds: does ``tests/core`` notice a moved edge?

Copies ``live_attune/``, ``tests/``, ``scripts/`` and ``pyproject.toml`` of a checkout into a
temporary directory, then applies one mutant at a time to the copy and runs
``pytest -q -x tests/core`` there (the copy first on ``sys.path``). Mutants, found in the core
modules that implement METRICS.md's timing rules:

* every read of a threshold attribute of the config (``config.floor_min_s`` ...) scaled by
  x1.15 and x0.85 *at the use site*, the config's defaults untouched; ``backchannel_max_s``
  also x1.3 (backchannels allowed to 1.3 s);
* every comparison with a threshold made strict or loose (``>=`` <-> ``>``, ``<=`` <-> ``<``);
* the response-latency median replaced by the mean.

Usage::

    .venv/bin/python scripts/mutate_thresholds.py               # this checkout
    .venv/bin/python scripts/mutate_thresholds.py --source DIR  # another (e.g. git archive HEAD)

Prints one row per mutant (killed / survived) and the counts; exits 1 if any survived that
is not a known equivalent mutant (``EQUIVALENT``, each with the reason it cannot matter).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The modules that implement METRICS.md's activity, turn and overlap rules.
CORE_FILES = ("activity.py", "turns.py", "metrics.py", "conversation.py")
THRESHOLDS = ("min_pause_s", "min_speech_s", "window_s", "patient_wait_s", "long_silence_s",
              "monologue_cue_s", "backchannel_max_s", "floor_min_s", "terminal_s",
              "yield_within_s", "bridge_s")
TOKENS = tuple(name.removesuffix("_s") for name in THRESHOLDS)  # names used after conversion
# Comparisons that hold a threshold's edge without naming it: a timer due at the same sample
# as a boundary (which goes first decides "at least backchannel_max" and "shorter than
# bridge" when the rule is left to timer order), and the rolling window's pruning.
UNNAMED = {r"^due <=? before$": "timer/boundary tie", r"\[2\] <=? lo$": "window prune"}
# Mutants that cannot change a result, and why; they may survive.
EQUIVALENT = {
    "window prune <= -> <": "a segment ending exactly at the window's start adds "
                            "max(0, end - start) = 0 samples whether it is pruned or not",
}
SCALES = (1.15, 0.85)
EXTRA_SCALES = {"backchannel_max_s": (1.3,)}
FLIP = {ast.GtE: (">=", ">"), ast.Gt: (">", ">="), ast.LtE: ("<=", "<"), ast.Lt: ("<", "<=")}
PYTEST = ("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/core")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the checkout root
    line: int
    start: int  # character offsets of the replaced text in the file
    end: int
    text: str  # the replacement


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line -> index line-1)."""
    out, pos = [], 0
    for line in source.splitlines(keepends=True):
        out.append(pos)
        pos += len(line)
    return out


def _span(node: ast.AST, starts: list[int]) -> tuple[int, int]:
    start = starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
    end = starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
    return start, end


def scale_mutants(rel: str, source: str, tree: ast.AST) -> list[Mutant]:
    """Each read of a config threshold, multiplied where it is read."""
    starts, out = _offsets(source), []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in THRESHOLDS
                and isinstance(node.ctx, ast.Load)):
            a, b = _span(node, starts)
            for factor in (*SCALES, *EXTRA_SCALES.get(node.attr, ())):
                out.append(Mutant(f"{node.attr} x{factor}", rel, node.lineno, a, b,
                                  f"({source[a:b]} * {factor})"))
    return out


def compare_mutants(rel: str, source: str, tree: ast.AST) -> list[Mutant]:
    """Each comparison that involves a threshold, made strict or loose."""
    starts, out = _offsets(source), []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1
                and type(node.ops[0]) in FLIP):
            continue
        if any(isinstance(side, ast.Constant) for side in (node.left, *node.comparators)):
            continue  # a sign check, not a threshold
        a, b = _span(node, starts)
        text = source[a:b]
        token = next((t for t in TOKENS if t in text), None)
        token = token or next((v for k, v in UNNAMED.items() if re.search(k, text)), None)
        if token is None:
            continue
        old, new = FLIP[type(node.ops[0])]
        left_end = _span(node.left, starts)[1]
        right_start = _span(node.comparators[0], starts)[0]
        between = source[left_end:right_start]
        k = between.index(old)
        out.append(Mutant(f"{token} {old} -> {new}", rel, node.lineno, left_end + k,
                          left_end + k + len(old), new))
    return out


def median_mutant(rel: str, source: str) -> list[Mutant]:
    """The response-latency median replaced by the mean (METRICS.md § Turns)."""
    m = re.search(r"statistics\.median\(", source)
    if m is None:
        return []
    line = source.count("\n", 0, m.start()) + 1
    return [Mutant("latency median -> mean", rel, line, m.start(), m.end(), "statistics.fmean(")]


def discover(root: Path) -> list[Mutant]:
    out: list[Mutant] = []
    for name in CORE_FILES:
        rel = f"live_attune/core/{name}"
        source = (root / rel).read_text()
        tree = ast.parse(source)
        out += scale_mutants(rel, source, tree) + compare_mutants(rel, source, tree)
        if name == "metrics.py":
            out += median_mutant(rel, source)
    return sorted(out, key=lambda m: (m.name, m.path, m.line))


def make_copy(source: Path, work: Path) -> Path:
    """The checkout's package, tests and scripts under ``work/repo``; shared data linked beside."""
    repo = work / "repo"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("live_attune", "tests", "scripts"):
        shutil.copytree(source / name, repo / name, ignore=ignore)
    shutil.copy2(source / "pyproject.toml", repo / "pyproject.toml")
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        (work / "shared").symlink_to(shared)
    return repo


def run_tests(repo: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, *PYTEST], cwd=repo, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return done.returncode


def check_isolation(repo: Path) -> None:
    """The copy, not the installed checkout, must be what the tests import."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    probe = "import live_attune; print(live_attune.__file__)"
    found = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env,
                           capture_output=True, text=True, check=True)
    if not found.stdout.strip().startswith(str(repo)):
        sys.exit(f"the copy is not imported first: {found.stdout.strip()}")


def apply(repo: Path, mutant: Mutant) -> str:
    """Write the mutant into the copy; return the original text to restore."""
    path = repo / mutant.path
    original = path.read_text()
    path.write_text(original[:mutant.start] + mutant.text + original[mutant.end:])
    return original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to mutate")
    parser.add_argument("--only", default="", help="run only mutants whose name contains this")
    args = parser.parse_args(argv)
    mutants = [m for m in discover(args.source) if args.only in m.name]
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        repo = make_copy(args.source.resolve(), Path(tmp))
        check_isolation(repo)
        if run_tests(repo) != 0:
            sys.exit("tests/core fails on the unmutated copy")
        print(f"{'mutant':34} {'where':38} result")
        survived = 0
        for mutant in mutants:
            original = apply(repo, mutant)
            t0 = time.monotonic()
            rc = run_tests(repo)
            (repo / mutant.path).write_text(original)
            result = "survived" if rc == 0 else ("killed" if rc == 1 else f"killed (rc {rc})")
            if rc == 0 and mutant.name in EQUIVALENT:
                result = f"survived, equivalent: {EQUIVALENT[mutant.name]}"
            survived += rc == 0 and mutant.name not in EQUIVALENT
            where = f"{mutant.path}:{mutant.line}"
            print(f"{mutant.name:34} {where:38} {result}  ({time.monotonic() - t0:.0f} s)",
                  flush=True)
    equivalent = sum(m.name in EQUIVALENT for m in mutants)
    print(f"\n{len(mutants)} mutants: {survived} survived that should not "
          f"({equivalent} known equivalent)")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
