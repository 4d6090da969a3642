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
