"""The code is ruff-clean (rules in pyproject.toml) and keeps to its rooms: the import-linter
contracts of pyproject.toml hold, no modules import each other in a circle, and both checks do
catch an import that breaks them."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "brainlc"


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return path


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts, checked on the package at ``root/brainlc``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([_tool("lint-imports"), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "brainlc", "tests", "scripts"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("core/topology.py", "from brainlc.sim import devices", "brainlc.core is not allowed to import brainlc.sim"),
    ("storage/store.py", "import brian2", "brainlc.storage is not allowed to import brian2"),
    ("sim/replicas.py", "from brainlc.storage import store", "brainlc.sim is not allowed to import brainlc.storage"),
    ("experiment/runs.py", "from brainlc.campaign import tasks",
     "brainlc.experiment is not allowed to import brainlc.campaign"),
    ("errors.py", "from brainlc.core import config", "brainlc.errors is not allowed to import brainlc.core"),
])
def test_a_wrong_import_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(PACKAGE, tmp_path / "brainlc", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "brainlc" / module, "a") as f:
        f.write(f"\n\ndef _wrong():\n    {line}  # deliberately wrong\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout, result.stdout


def test_every_subpackage_is_installed():
    """pyproject lists its packages by hand: a new room must be listed, or it is not installed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)


#: Prints each circle of imports between brainlc's modules (also through imports inside functions).
CIRCLES = """
import grimp
graph = grimp.build_graph("brainlc")
for module in sorted(m for m in graph.modules if m.startswith("brainlc.")):
    for imported in sorted(graph.find_modules_directly_imported_by(module)):
        if imported.startswith("brainlc.") and imported != module:
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                print(" -> ".join((module, *back)))
"""


def _circles(root: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", CIRCLES], cwd=root, env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout.splitlines()


def test_no_module_imports_itself_through_others():
    assert _circles(ROOT) == []


def test_a_circle_is_found(tmp_path):
    """The circle that the split opened, planted again in a copy: full_model <-> evaluation_model."""
    shutil.copytree(PACKAGE, tmp_path / "brainlc", ignore=shutil.ignore_patterns("__pycache__"))
    for module, line in (("full_model", "from .evaluation_model import build_evaluation_objects"),
                         ("evaluation_model", "from .full_model import build_full_objects")):
        with open(tmp_path / "brainlc" / "sim" / f"{module}.py", "a") as f:
            f.write(f"\n\ndef _circle():\n    {line}\n")
    circle = "brainlc.sim.evaluation_model -> brainlc.sim.full_model -> brainlc.sim.evaluation_model"
    assert circle in _circles(tmp_path)
