"""One self-contained HTML page per pipeline folder (`mdaug report DIR`) and `metrics.json`, plus the table
across pipeline folders (`mdaug compare DIR...`).

A pipeline folder holds what the commands write (`mdaug run` lays it out this way):

    DIR/ae/            train-ae run; ae/eval/reconstruction-test.json and diagnose.json (+ figures)
    DIR/ldm/, DIR/prior/   stage-2 runs; <run>/eval/generation.json (+ grid and confusion figures)
    DIR/recognizer-eval/   the evaluation recogniser
    DIR/utility/       utility.json and utility.png

Whatever exists is reported; a missing part is named as missing. The newest of repeated evaluations
(`-2`, `-3`...) is used. Figures are embedded as base64, so the page can be mailed or archived alone."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text

STAGE2 = ("ldm", "prior")


def newest(folder: Path, stem: str, suffix: str = ".json") -> Path | None:
    """The newest of folder/stem.json, stem-2.json, ... (by modification time)."""
    found = [p for p in folder.glob(f"{stem}*{suffix}") if p.stem == stem or p.stem[len(stem) + 1:].isdigit()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def _load(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise MdaugError(f"{path} is unreadable or corrupt; run its evaluation again") from None


def collect(folder: str | Path) -> dict[str, Any]:
    """Every result found in a pipeline folder, as one dict (what metrics.json holds)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MdaugError(f"{folder} is not a folder")
    m: dict[str, Any] = {"folder": str(folder)}
    ae_eval = folder / "ae" / "eval"
    rec_json = newest(ae_eval, "reconstruction-test")
    m["reconstruction"] = _load(rec_json)
    if m["reconstruction"] is not None:  # eval-ae writes its figure beside the JSON, under the same name
        m["reconstruction"].setdefault("files", {"figure": str(rec_json.with_suffix(".png"))})
    m["diagnose"] = _load(newest(ae_eval, "diagnose"))
    ae_meta = folder / "ae" / "final" / "mdaug.json"
    m["family"] = _load(ae_meta).get("family") if ae_meta.exists() else None
    m["generation"] = {k: _load(newest(folder / k / "eval", "generation")) for k in STAGE2 if (folder / k).is_dir()}
    m["utility"] = _load(folder / "utility" / "utility.json") if (folder / "utility" / "utility.json").exists() else None
    rec = folder / "recognizer-eval" / "final" / "mdaug.json"
    m["recognizer"] = ({k: v for k, v in _load(rec).items() if k not in ("train_ids", "carve_out_ids")}
                       if rec.exists() else None)
    m["data_seen"] = data_seen(folder, m["utility"])
    if not any([m["reconstruction"], m["diagnose"], m["generation"], m["utility"]]):
        raise MdaugError(f"{folder} holds no mdaug results (ae/, ldm/, prior/, utility/); run `mdaug run` first")
    return m


def data_seen(folder: Path, utility: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Which real spectrograms each model of a pipeline folder saw: how many, a digest of their ids (SHA-256,
    16 hex digits, as in the utility records) and how many of them are in the test split (must be 0)."""
    from mdaug.data import load_split
    from mdaug.evaluation.utility import ids_digest

    split_path = folder / "ae" / "split.json"
    if not split_path.exists():
        return []
    try:
        split = load_split(split_path)
    except MdaugError:
        return []
    test = set(split.ids["test"])
    rows: list[dict[str, Any]] = []

    def add(model: str, ids: list[str] | None, digest: str | None = None) -> None:
        rows.append({"model": model, "real_samples": None if ids is None else len(ids),
                     "ids_sha256": digest or (ids_digest(ids) if ids else None),
                     "in_test_split": None if ids is None else len(test.intersection(ids))})

    rec = folder / "recognizer-eval" / "final" / "mdaug.json"
    if rec.exists():
        r = _load(rec)
        add("evaluation recogniser (trained + carve-out)", list(r["train_ids"]) + list(r["carve_out_ids"]))
    add("stage 1 (autoencoder)", list(split.ids["train"]))
    for kind in STAGE2:
        if (folder / kind / "final" / "mdaug.json").exists():  # stage 2 learns the latents of stage 1's training split
            add(f"stage 2 ({kind}, latents of stage 1's training split)", list(split.ids["train"]))
    for rec_ in (utility or {}).get("records", []):
        for model, digest in rec_["real_files_seen"].items():
            rows.append({"model": f"utility budget {rec_['budget']}, repeat {rec_['repeat']}: {model}",
                         "real_samples": rec_["real_train"] if digest else 0, "ids_sha256": digest,
                         "in_test_split": None})
    rows.append({"model": "test split (never trained or selected on)", "real_samples": len(test),
                 "ids_sha256": ids_digest(list(test)), "in_test_split": len(test)})
    return rows


def summary_row(m: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one pipeline folder (one row of `mdaug compare`)."""
    row: dict[str, Any] = {"run": m["folder"], "family": m.get("family")}
    r = m.get("reconstruction") or {}
    row["psnr_db"], row["ssim"] = r.get("psnr_db"), r.get("ssim")
    d = m.get("diagnose") or {}
    if d:
        row["latent_problems"] = ", ".join(v["problem"] for v in d["verdicts"] if not v["ok"]) or "none"
        row["knn_agreement"], row["diffusability_loss"] = d.get("knn_agreement"), d.get("diffusability_loss")
        row["class_probe"], row["class_probe_pixels"] = d.get("linear_probe"), d.get("linear_probe_pixels")
        row["codebook_usage_pct"] = d.get("latent", {}).get("codebook_usage_pct")
    for kind, g in (m.get("generation") or {}).items():
        if g:
            row[f"{kind}_fid"], row[f"{kind}_fid_floor"] = g["fid"], g["floor"]["fid"]
            row[f"{kind}_identity"] = g["identity"]["accuracy"]
            row["stage1_identity"] = (g.get("stage1_ceiling") or {}).get("identity_accuracy", row.get("stage1_identity"))
            row["real_identity"] = g.get("recognizer_test_accuracy", row.get("real_identity"))
            row[f"{kind}_copies_pct"] = 100 * g["memorisation_pixels"]["all"]["share_below"]
    u = m.get("utility")
    if u:
        for b, s in u["summary"].items():
            row[f"gain_at_{b}"] = s["gain"]["mean"]
    return row


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def compare_table(folders: list[str | Path]) -> tuple[list[dict[str, Any]], str]:
    """Rows and a Markdown table across pipeline folders, the columns being the union of their results."""
    rows = [summary_row(collect(f)) for f in folders]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return rows, "\n".join(lines)


# ---------------------------------------------------------------------------------------------- HTML


def _img(path: str | Path | None, alt: str) -> str:
    if not path or not Path(path).exists():
        return f"<p class='missing'>({html.escape(alt)}: no figure)</p>"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<figure><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'><figcaption>{html.escape(alt)}</figcaption></figure>"


def _table(rows: list[list[Any]], head: list[str]) -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def _section(title: str, missing: str, body: list[str] | None) -> list[str]:
    """A heading and its content, or a note of what is missing."""
    return [f"<h2>{html.escape(title)}</h2>"] + (body or [f"<p class='missing'>{missing}</p>"])


def render(m: dict[str, Any], config_text: str | None = None) -> str:
    parts = [f"<h1>mdaug report: {html.escape(Path(m['folder']).name)}</h1>",
             f"<p>stage-1 family: <b>{html.escape(str(m.get('family')))}</b>; folder {html.escape(m['folder'])}</p>"]
    for kind, g in (m.get("generation") or {}).items():
        if not g:
            parts.append(f"<h2>Generated samples ({kind})</h2><p class='missing'>not evaluated yet</p>")
            continue
        parts.append(f"<h2>Generated samples ({kind})</h2><p>first column: a real test spectrogram of the class; "
                     f"then samples generated for it ({html.escape(json.dumps(g['settings']))})</p>")
        parts.append(_img(g["files"].get("grid"), f"real vs generated per class ({kind})"))
        fl, ce = g["floor"], g.get("stage1_ceiling") or {}
        parts.append(_table([
            ["FID (recogniser features)", g["fid"], ce.get("fid"), fl["fid"]], ["KID", g["kid"], ce.get("kid"), fl["kid"]],
            ["precision", g["precision"], ce.get("precision"), fl["precision"]],
            ["recall", g["recall"], ce.get("recall"), fl["recall"]],
            ["identity accuracy", g["identity"]["accuracy"], ce.get("identity_accuracy"), g.get("recognizer_test_accuracy")],
            ["near-copies of training samples (pixels)", g["memorisation_pixels"]["all"]["share_below"], None, None],
        ], ["metric", "generated", "stage-1 reconstructions (ceiling)", "real training samples (floor)"]))
        phys = [[k, v["real_mean"], v["fake_mean"], v["wasserstein"]] for k, v in g["physical"].items()]
        parts.append("<h3>Physical plausibility</h3>" + _table(phys, ["statistic", "real mean", "generated mean", "Wasserstein"]))
        parts.append(_img(g["files"].get("confusion"), f"identity confusion ({kind})"))
    r, d, u = m.get("reconstruction"), m.get("diagnose"), m.get("utility")
    parts += _section("Stage 1: reconstruction", "not evaluated yet", r and [
        _table([[r["split"], r["samples"], r["psnr_db"], r["ssim"], r["spectral_error"]]],
               ["split", "samples", "PSNR (dB)", "SSIM", "spectral error"]),
        _img(r.get("files", {}).get("figure"), "reconstructions (top: real, bottom: reconstructed)")])
    parts += _section("Latent-space health", "not diagnosed yet", d and [
        _table([["OK" if v["ok"] else "PROBLEM", v["problem"], v["message"]] for v in d["verdicts"]],
               ["verdict", "problem", "measured"]),
        _img(d.get("files", {}).get("figure"), "latent diagnostics")])
    parts += _section("Downstream utility", "not measured yet", u and [
        _table([[b, s["real_train"]] + [f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}" for k in ("real", "real+synthetic", "synthetic")]
                + [f"{s['gain']['mean']:+.3f}"] for b, s in u["summary"].items()],
               ["real per class", "real training samples", "real only", "real + synthetic", "synthetic only (TSTR)", "gain"]),
        f"<p>{html.escape(u['note'])}; {u['synthetic_per_class']} synthetic per class, {u['seeds']} repeat(s) per budget.</p>",
        _img(u["files"].get("figure"), "utility curve")])
    seen = m.get("data_seen") or []
    parts += _section("Which real data each model saw", "no split recorded", seen and [
        _table([[s_["model"], s_["real_samples"], s_["ids_sha256"], s_["in_test_split"]] for s_ in seen],
               ["model", "real samples", "SHA-256 of their ids (16 hex)", "of them in the test split"]),
        "<p>The ids themselves are in each run's split.json and the recognisers' mdaug.json.</p>"]
        + [f"<p class='missing'>LEAK: {html.escape(s_['model'])} saw {s_['in_test_split']} test spectrogram(s); its "
           "test figures are not held-out results.</p>" for s_ in seen
           if s_["in_test_split"] and not s_["model"].startswith("test split")])
    if config_text:
        parts.append(f"<h2>Config</h2><pre>{html.escape(config_text)}</pre>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}img{max-width:100%}"
             ".missing{color:#a00}figure{margin:1em 0}figcaption{font-size:90%;color:#555}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>mdaug report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"


def write_report(folder: str | Path) -> tuple[Path, Path]:
    """DIR/report.html and DIR/metrics.json (replaced atomically: they are derived from the results)."""
    folder = Path(folder)
    m = collect(folder)
    cfg = folder / "ae" / "config.yaml"
    html_path = atomic_write_text(folder / "report.html", render(m, cfg.read_text() if cfg.exists() else None))
    metrics = atomic_write_text(folder / "metrics.json", json.dumps({**m, "summary": summary_row(m)}, indent=1, default=float))
    return html_path, metrics


__all__ = ["collect", "compare_table", "render", "summary_row", "write_report"]
