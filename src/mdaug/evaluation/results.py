"""Everything measured in a pipeline folder, collected into one typed record (what metrics.json holds), its
headline row, and the table across pipeline folders (`mdaug compare DIR...`).

A pipeline folder holds what the commands write (`mdaug run` lays it out this way, see
mdaug.runs.layout.PipelineFolders): stage 1 and its evaluations, the stage-2 runs and theirs, the evaluation
recogniser and the utility study. Whatever exists is collected; a missing part is None. The newest of repeated
evaluations (`-2`, `-3`...) is used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from mdaug.data import load_split
from mdaug.data.coverage import UNSEEN_CONDITIONS
from mdaug.errors import MdaugError
from mdaug.evaluation.record_parts import Files
from mdaug.evaluation.records import (
    ConditionsReport,
    DiagnoseReport,
    EvalRecord,
    GenerationReport,
    ReconstructionReport,
    UtilityReport,
)
from mdaug.models.stage2 import STAGE2_KINDS
from mdaug.runs.cards import AutoencoderCard, RecognizerCard, read_card
from mdaug.runs.layout import CARD, EVAL, FILTER_RECOGNIZER, SPLIT, PipelineFolders, final_dir, newest
from mdaug.runs.run_data import ids_digest


class DataSeen(EvalRecord):
    """Which real spectrograms one model saw."""

    model: str
    real_samples: int | None
    ids_sha256: str | None
    """SHA-256 (16 hex digits) of their ids, as in the utility records."""
    in_test_split: int | None
    """How many of them are in the test split: 0, or the test figures are not held-out results."""


class Results(EvalRecord):
    folder: str
    reconstruction: ReconstructionReport | None
    diagnose: DiagnoseReport | None
    family: str | None
    generation: dict[str, GenerationReport | None]
    utility: UtilityReport | None
    recognizer: dict[str, Any] | None
    """The evaluation recogniser's card, without its lists of ids."""
    data_seen: list[DataSeen]
    conditions: ConditionsReport | None = None
    """What the recording conditions do to stage 2's samples (mdaug.evaluation.conditions_control), when measured."""
    summary: dict[str, Any] = Field(default_factory=dict)
    """The headline row (summary_row)."""


def _read(cls: type[EvalRecord], path: Path | None) -> Any:
    return None if path is None else cls.read(path)


def _recognizer_card(folder: Path) -> RecognizerCard | None:
    if not (final_dir(folder) / CARD).exists():
        return None
    return read_card(final_dir(folder), RecognizerCard, missing="a recogniser", wrong_kind="not a recogniser")


def collect(folder: str | Path) -> Results:
    """Every result found in a pipeline folder (what metrics.json holds), with its headline row."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MdaugError(f"{folder} is not a folder")
    p = PipelineFolders(folder)
    rec_json = newest(p.ae / EVAL, "reconstruction-test")
    reconstruction = _read(ReconstructionReport, rec_json)
    if reconstruction is not None and reconstruction.files is None:  # the figure lies beside the JSON
        reconstruction.files = Files(figure=str(rec_json.with_suffix(".png")))
    ae_final = final_dir(p.ae)
    ae_card = (read_card(ae_final, AutoencoderCard, missing="a stage-1 model", wrong_kind="not a stage-1 model")
               if (ae_final / CARD).exists() else None)
    family = ae_card.family if ae_card else None
    utility_json = p.utility / "utility.json"
    rec_card = _recognizer_card(p.recognizer)
    m = Results(folder=str(folder), reconstruction=reconstruction, diagnose=_read(DiagnoseReport, newest(p.ae / EVAL,
                "diagnose")), family=family,
                generation={k: _read(GenerationReport, newest(p.stage2(k) / EVAL, "generation")) for k in STAGE2_KINDS
                            if p.stage2(k).is_dir()},
                utility=_read(UtilityReport, utility_json if utility_json.exists() else None),
                recognizer=rec_card.model_dump(exclude={"train_ids", "selection_ids"}) if rec_card else None,
                data_seen=[])
    m.data_seen = data_seen(folder, m.utility, rec_card, ae_card, _recognizer_card(p.root / FILTER_RECOGNIZER))
    cond_json = newest(p.stage2("ldm") / EVAL, "conditions") if p.stage2("ldm").is_dir() else None
    if cond_json is not None:
        try:
            m.conditions = ConditionsReport.read(cond_json)
        except MdaugError:
            raise MdaugError(f"{cond_json} is unreadable; delete it and evaluate again") from None
    if not any([m.reconstruction, m.diagnose, m.generation, m.utility]):
        raise MdaugError(f"{folder} holds no mdaug results (ae/, ldm/, prior/, utility/); run `mdaug run` first")
    m.summary = summary_row(m)
    return m


def data_seen(folder: Path, utility: UtilityReport | None, recognizer: RecognizerCard | None,
              autoencoder: AutoencoderCard | None = None, filter_recognizer: RecognizerCard | None = None
              ) -> list[DataSeen]:
    """Which real spectrograms each model of a pipeline folder saw: how many, a digest of their ids and how many
    of them are in the test split (must be 0); and, when stage 1 started from a shipped model, its corpus."""
    p = PipelineFolders(Path(folder))
    split_path = p.ae / SPLIT
    if not split_path.exists():
        return []
    try:
        split = load_split(split_path)
    except MdaugError:
        return []
    test = set(split.test)
    rows: list[DataSeen] = []

    def add(model: str, ids: list[str]) -> None:
        rows.append(DataSeen(model=model, real_samples=len(ids), ids_sha256=ids_digest(ids) if ids else None,
                             in_test_split=len(test.intersection(ids))))

    if recognizer is not None:
        add(f"evaluation recogniser (trained + selected on {recognizer.selection})",
            list(recognizer.train_ids) + list(recognizer.selection_ids))
    init = autoencoder.init if autoencoder else None
    if init is not None and init.source == "pretrained" and init.corpus:
        c = init.corpus
        rows.append(DataSeen(model=f"stage-1 pretraining ({init.path}: {c.trained_on} simulated spectrograms of "
                             f"{c.people} walkers of seeds {c.seeds}, in no built-in dataset)",
                             real_samples=0, ids_sha256=None, in_test_split=0))
    add("stage 1 (autoencoder)", list(split.train))
    if filter_recognizer is not None:
        add(f"filter recogniser of the export (sifts synthetic/; trained + selected on {filter_recognizer.selection})",
            list(filter_recognizer.train_ids) + list(filter_recognizer.selection_ids))
    for kind in STAGE2_KINDS:
        if (final_dir(p.stage2(kind)) / CARD).exists():  # stage 2 learns the latents of stage 1's training split
            add(f"stage 2 ({kind}, latents of stage 1's training split)", list(split.train))
    for r in utility.records if utility else []:
        for model, digest in r.real_files_seen.items():
            rows.append(DataSeen(model=f"utility budget {r.budget}, repeat {r.repeat}: {model}",
                                 real_samples=r.real_train if digest else 0, ids_sha256=digest, in_test_split=None))
    rows.append(DataSeen(model="test split (never trained or selected on)", real_samples=len(test),
                         ids_sha256=ids_digest(list(test)), in_test_split=len(test)))
    return rows


def summary_row(results: Results) -> dict[str, Any]:
    """The headline numbers of one pipeline folder (one row of `mdaug compare`)."""
    r, d = results.reconstruction, results.diagnose
    row: dict[str, Any] = {"run": results.folder, "family": results.family, "psnr_db": r.psnr_db if r else None,
                           "ssim": r.ssim if r else None}
    if r and r.identity:
        row.update(reconstruction_identity=r.identity.reconstructions)
    if d:
        row.update(latent_problems=", ".join(v.problem for v in d.verdicts if not v.ok) or "none",
                   knn_agreement=d.knn_agreement, diffusability_loss=d.diffusability_loss, class_probe=d.linear_probe,
                   class_probe_pixels=d.linear_probe_pixels, codebook_usage_pct=d.latent.codebook_usage_pct)
    for kind, g in results.generation.items():
        if g:
            ceiling = g.stage1_ceiling.identity_accuracy
            row.update({f"{kind}_fid": g.fid, f"{kind}_fid_floor": g.floor.fid,
                        f"{kind}_identity": g.identity.accuracy})
            row.update(stage1_identity=ceiling if ceiling is not None else row.get("stage1_identity"),
                       real_identity=g.recognizer_test_accuracy)
            row.update({f"{kind}_copies_pct": 100 * g.memorisation_pixels.all.share_below})
    if results.utility:
        for b, s in results.utility.summary.items():
            for key, gain in (("gain", "synthetic over classical"), ("gain_over_best", "synthetic over best "
                                                                                        "non-generative")):
                if gain in s.gains:
                    row[f"{key}_at_{b}"] = s.gains[gain].mean
            for arm in ("real+classical", "pretrained+classical", "real+classical+synthetic"):
                cell = (s.by_condition or {}).get(arm, {}).get(UNSEEN_CONDITIONS)
                if cell is not None:
                    row[f"{arm}_unseen_at_{b}"] = cell.mean
    return row


def fmt(v: Any) -> str:
    """A table cell: '-' for nothing, three decimals for a float below 100, one above."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def compare_table(folders: list[str | Path]) -> tuple[list[dict[str, Any]], str]:
    """Rows and a Markdown table across pipeline folders, the columns being the union of their results."""
    rows = [collect(f).summary for f in folders]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return rows, "\n".join(lines)


__all__ = ["DataSeen", "Results", "collect", "compare_table", "data_seen", "fmt", "summary_row"]
