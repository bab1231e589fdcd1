"""benchmarks/families.py: one family per call, merged into one results file only when the same evaluation
recogniser judged them, and the README's family table rendered from that file."""

import copy
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mdaug.errors import MdaugError

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location("families", ROOT / "benchmarks" / "families.py")
fam = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fam)
sys.path.insert(0, str(ROOT / "scripts"))
import results_tables  # noqa: E402

DEMO = json.loads((ROOT / "benchmarks" / "results" / "demo-quick.json").read_text())["metrics"]


def _row(real: float = 0.5, per_class: list[float] | None = None) -> dict:
    m = copy.deepcopy(DEMO)
    m["reconstruction"]["identity"]["real"] = real
    if per_class is not None:
        m["generation"]["ldm"]["identity"]["per_class_accuracy"] = per_class
    interval = fam.identity_interval(m["generation"]["ldm"]["identity"]["per_class_accuracy"])
    return {"command": "python benchmarks/families.py --family kl", "date": "2026-12-07", "machine": "x",
            "minutes": 30.0, "identity_interval": {"ldm": interval}, "metrics": m}


def test_families_are_kept_in_the_order_of_the_benchmark_and_a_family_measured_again_replaces_its_row():
    old = {"families": {"rq": _row(), "kl": _row()}}
    new = _row()
    new["minutes"] = 1.0
    out = fam.merged(old, "vq", new)
    assert list(out) == ["kl", "vq", "rq"]
    out = fam.merged({"families": out}, "kl", new)
    assert list(out) == ["kl", "vq", "rq"] and out["kl"]["minutes"] == 1.0
    assert list(fam.merged(None, "fsq", new)) == ["fsq"]


def test_a_family_judged_by_another_recogniser_is_refused():
    with pytest.raises(MdaugError, match="kl"):
        fam.merged({"families": {"kl": _row(real=0.5)}}, "vq", _row(real=0.51))
    fam.merged({"families": {"kl": _row(real=0.5)}}, "kl", _row(real=0.51))  # its own row: replaced, no judge to match


def test_the_identity_interval_resamples_people_and_holds_the_mean():
    same = fam.identity_interval([0.4] * 31)
    assert same == pytest.approx([0.4, 0.4])
    spread = list(np.linspace(0.0, 1.0, 31))
    lo, hi = fam.identity_interval(spread)
    assert lo < 0.5 < hi and 0.15 < hi - lo < 0.3  # sd of the mean of 31 uniform(0, 1): 0.29 / sqrt(31) = 0.052


def test_the_family_table_says_each_familys_figures_from_its_row():
    kl, vq = _row(real=0.5645161290322581), _row(real=0.5645161290322581, per_class=[0.2] * 31)
    vq["metrics"]["generation"]["ldm"]["identity"]["accuracy"] = 0.2
    vq["metrics"]["generation"]["prior"] = copy.deepcopy(vq["metrics"]["generation"]["ldm"])
    vq["identity_interval"]["prior"] = [0.2, 0.2]
    table = results_tables.render_families({"preset": "standard", "overrides": ["utility.budgets=[10]"],
                                            "families": {"kl": kl, "vq": vq}})
    lines = table.splitlines()
    # the figures of the demo's metrics.json that kl's row holds, each in its column
    rec, ldm = DEMO["reconstruction"], DEMO["generation"]["ldm"]
    ident = ldm["identity"]["accuracy"]
    assert lines[2].startswith(f"| `kl` | - | {rec['psnr_db']:.2f} / {rec['ssim']:.3f} | "
                               f"{100 * rec['identity']['reconstructions']:.1f}% ({rec['identity']['ratio']:.2f}x) | "
                               f"{100 * ident:.1f}% [")
    assert f"({ident / 0.5645161290322581:.2f}x)" in lines[2] and "| - | - |" in lines[2]
    ceiling = ldm["stage1_ceiling"]["fid"]
    assert f"| {ldm['fid']:.1f} ({ldm['floor']['fid']:.1f} / {ceiling:.1f}) |" in lines[2]
    assert lines[3].count("20.0% [20.0, 20.0] (0.35x)") == 2  # both second stages of vq
    gain = DEMO["utility"]["summary"]["10"]["gains"]["synthetic over best non-generative"]["mean"]
    assert f"10: {100 * gain:+.1f} pt (n=1)" in lines[2]
    assert f"| {DEMO['summary'].get('latent_problems') or '-'} |" in lines[2]
    assert "with utility.budgets=[10]" in table and "names 56.5% of the real test split" in table
