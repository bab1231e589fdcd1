"""benchmarks/diagnostics_rank.py measures its models over several sessions (runs/ does not outlive one): the rows
it keeps from an earlier results file, and the rank correlations over models measured before a figure existed."""

import importlib.util
import math
from pathlib import Path

import pytest

from mdaug.errors import MdaugError

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "diagnostics_rank.py"
_spec = importlib.util.spec_from_file_location("diagnostics_rank", SCRIPT)
rank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rank)


def _row(name: str, ident: float, real: float = 0.56, margin: float = float("nan"), fid: float = 10.0) -> dict:
    figures = {f: ident for f in rank.FIGURES} | {"detail margin": margin, "interpolation roughness": -ident}
    return {"name": name, "figures": figures, "generated_identity": ident, "fid": fid - 10 * ident,
            "reconstruction_identity": ident, "psnr_db": 20 + ident, "real_identity": real}


def test_rows_not_measured_again_are_kept_before_the_new_ones_and_a_measured_one_is_replaced():
    old = {"models": [_row("a", 0.1), _row("b", 0.2), _row("c", 0.3)]}
    rows = rank.merged(old, [_row("b", 0.5), _row("d", 0.4)])
    assert [r["name"] for r in rows] == ["a", "c", "b", "d"]
    assert rows[2]["generated_identity"] == 0.5
    assert [r["name"] for r in rank.merged(None, [_row("d", 0.4)])] == ["d"]


def test_rows_judged_by_another_recogniser_are_refused():
    old = {"models": [_row("a", 0.1, real=0.56), _row("c", 0.3, real=0.55)]}
    with pytest.raises(MdaugError, match=r"\['c'\]"):
        rank.merged(old, [_row("b", 0.5, real=0.56)])
    assert len(rank.merged({"models": [_row("a", 0.1, real=0.56)]}, [_row("b", 0.5, real=0.56)])) == 2


def test_correlations_use_the_models_that_have_a_figure_and_say_how_many():
    rows = [_row(n, i / 10) for n, i in zip("abcde", (1, 2, 3, 4, 5))]
    for r, m in zip(rows[2:], (3.0, 1.0, 5.0)):  # margin measured for three models only, out of their order
        r["figures"]["detail margin"] = m
    rho = rank.correlations(rows)
    assert rho["class probe ratio"] == {"identity": pytest.approx(1.0), "fid": pytest.approx(-1.0), "n": 5}
    assert rho["interpolation roughness"]["identity"] == pytest.approx(-1.0)
    assert rho["detail margin"]["n"] == 3 and rho["detail margin"]["identity"] == pytest.approx(0.5)
    rows[3]["figures"]["detail margin"] = math.nan  # fewer than three: no correlation at all
    assert "detail margin" not in rank.correlations(rows)


def test_correlations_within_groups_rank_each_group_apart():
    # a figure that parts the groups (higher for every pretrained model) but runs against identity within each
    rows = [_row(f"m{i}-pretrained", 0.5 + i / 100) for i in range(3)] + [
        _row(f"m{i}-scratch", 0.1 + i / 100) for i in range(3)]
    for r in rows:
        r["figures"]["detail margin"] = (10 if r["name"].endswith("pretrained") else 0) - r["generated_identity"]
    assert rank.correlations(rows)["detail margin"]["identity"] > 0.4
    within = rank.within_groups(rows)
    assert within["fine-tuned from the shipped weights"]["models"] == ["m0-pretrained", "m1-pretrained",
                                                                       "m2-pretrained"]
    assert all(g["spearman"]["detail margin"]["identity"] == pytest.approx(-1.0) for g in within.values())
    assert rank.within_groups(rows[:2] + rows[3:]).keys() == {"trained from scratch or collapsed"}
