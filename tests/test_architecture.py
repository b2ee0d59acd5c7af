"""The package's guard rails: its layers import one way (import-linter contracts in pyproject.toml) and
ruff passes on every Python file of the repository. See docs/architecture.md for the layer map."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_the_layers_import_one_way():
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_an_import_against_the_layers_is_caught(tmp_path):
    # The contract is live: in a copy of the package, a settings module that imports the engine breaks it.
    shutil.copytree(ROOT / "impasto", tmp_path / "impasto", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "impasto" / "config" / "probe.py").write_text("from ..engine import Stylizer  # noqa: F401\n")
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0 and "impasto.config.probe -> impasto.engine" in result.stdout


def test_ruff_passes_on_every_python_file():
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_and_the_command_line_load_without_pytorch():
    code = ("import sys, impasto.config.options, impasto.cli.main; "
            "print(sorted(m for m in ('torch', 'PIL', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
