"""The public API is importable from the package itself, lazily."""

import subprocess
import sys

import brainlc


def test_every_public_name_resolves():
    for name in brainlc.__all__:
        assert getattr(brainlc, name) is not None, name


def test_importing_brainlc_loads_no_heavy_library():
    code = ("import sys, brainlc\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'xarray', 'brian2', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_imports_only_from_brainlc_itself():
    """Every name that README.md's Python uses comes from ``from brainlc import ...``."""
    import ast
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    imported = []
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("brainlc"):
                assert node.module == "brainlc", f"README imports from {node.module}"
                imported += [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("brainlc.") for a in node.names)
    assert imported and set(imported) <= set(brainlc.__all__), set(imported) - set(brainlc.__all__)
