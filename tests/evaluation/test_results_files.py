"""The studies kept in benchmarks/results/ were made by earlier versions of the study, some before a field existed
(the synthetic-only arm's own pool and guidance, the lower-SNR dose): they must still read, so those fields stay
optional and the report says what such a study did."""

import json
from pathlib import Path

import pytest

from mdaug.evaluation.records import UtilityReport
from mdaug.evaluation.report import _tstr_guidance

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"


def _studies():
    out = []
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        for part in (data.get("report"), (data.get("metrics") or {}).get("utility")):
            if isinstance(part, dict) and "records" in part and "summary" in part:
                out.append(pytest.param(part, id=path.stem))
    return out


STUDIES = _studies()


def test_the_kept_studies_include_ones_made_before_the_optional_fields():
    records = [r for study in STUDIES for r in study.values[0]["records"]]
    assert len(STUDIES) >= 10
    assert any("tstr_guidance" not in r for r in records) and any("tstr_guidance" in r for r in records)
    assert any("snr_drop_db" not in r for r in records) and any("tstr_samples" not in r for r in records)


@pytest.mark.parametrize("study", STUDIES)
def test_every_kept_study_reads_and_writes_back_what_it_held(study):
    report = UtilityReport.model_validate(study)
    again = json.loads(report.to_json())
    assert again["records"] == json.loads(json.dumps(study["records"]))
    for budget in report.summary.values():
        said = _tstr_guidance(budget)
        if budget.tstr_guidance is not None:  # chosen on validation: each guidance tried, with how often it won
            assert all(g in said for g in budget.tstr_guidance)
        else:  # made before the choice: the model's guidance on its own pool, or the chosen pool (no own pool)
            assert said == ("the model's" if budget.tstr_samples is not None else "-")
