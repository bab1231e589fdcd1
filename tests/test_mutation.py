"""Mutation testing's configuration and its table in docs/testing.md (scripts/mutation.py) stay consistent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # scripts/mutation.py reads pyproject.toml with it (Python 3.11+)

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("mutation", ROOT / "scripts" / "mutation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_listed_module_and_test_file_exists_and_mutmut_mutates_the_listed_modules():
    mutation = _script()
    base, modules = mutation.config()
    for module, tests in modules.items():
        assert (ROOT / module).is_file(), module
        assert mutation.test_files(tests), module
        assert any(Path(module).match(p) or module == p for p in base["only_mutate"]), module
    assert mutation.slug("src/mdaug/data/classical.py") == "data.classical"


def test_the_scratch_configuration_names_only_the_one_module_and_its_tests(tmp_path, monkeypatch):
    mutation = _script()
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    where = mutation.scratch("src/mdaug/data/splits.py", ["tests/data/test_splits.py"])
    mutmut = tomllib.loads((where / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert mutmut["only_mutate"] == ["src/mdaug/data/splits.py"]
    assert mutmut["pytest_add_cli_args_test_selection"] == ["tests/data/test_splits.py"]
    assert mutmut["pytest_add_cli_args"][:1] == ["--deselect"]  # the slow wiring test of splits


def test_the_mutation_table_matches_its_results_files():
    mutation = _script()
    assert not mutation.stale(), "run .venv/bin/python scripts/mutation.py --render"
