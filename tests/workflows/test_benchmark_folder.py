"""`mdaug benchmark --out` checks its folder before any work, like `mdaug run`: a folder of the user's own files is
refused in one line before the data is read, and nothing in it is touched."""

import inspect

import pytest

from mdaug.workflows import benchmark as bench
from tests.conftest import assert_one_line_error


@pytest.fixture(autouse=True)
def no_data(monkeypatch):
    def load_run_data(*_a, **_k):
        raise RuntimeError("the data was loaded before the folder was checked")

    monkeypatch.setattr(bench, "load_run_data", load_run_data)


def test_a_folder_of_the_users_files_is_refused_before_the_data_is_read(cli, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    code, _, err = cli("benchmark", "--out", out, "-c", "tiny", "--families", "kl")
    assert_one_line_error(code, err, "holds no mdaug benchmark (thesis.tex)")
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"] and (out / "thesis.tex").read_text() == "mine"


def test_a_file_is_refused_and_a_folder_of_benchmark_parts_is_accepted(cli, tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("benchmark", "--out", tmp_path / "afile", "-c", "tiny", "--families", "kl")
    assert_one_line_error(code, err, "is a file")
    code, _, err = cli("benchmark", "--out", tmp_path / "new", "--recognisers", tmp_path / "afile", "-c", "tiny",
                       "--families", "kl")
    assert_one_line_error(code, err, "--recognisers")
    assert not (tmp_path / "new").exists()
    out = tmp_path / "parts"
    (out / "kl").mkdir(parents=True)  # a family's run launched into it by hand is welcome: the data is read next
    with pytest.raises(RuntimeError, match="the data was loaded"):
        bench.run_benchmark(out, preset="tiny", families=("kl",))


def test_the_benchmark_compares_every_stage1_family_by_default_and_the_cli_says_the_same():
    from mdaug.cli.jobs import benchmark_cmd
    from mdaug.config.models import FAMILIES

    assert bench.FAMILIES == tuple(f for f in FAMILIES if f != "pixels") == ("kl", "vq", "vqgan", "rq", "fsq")
    default = inspect.signature(benchmark_cmd).parameters["families"].default.default
    assert default.split(",") == list(bench.FAMILIES)
