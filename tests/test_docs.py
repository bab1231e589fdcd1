"""The documents' result tables are rendered from results files, never typed: each block must match its file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tables():
    spec = importlib.util.spec_from_file_location("results_tables", ROOT / "scripts" / "results_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_results_table_matches_its_file():
    tables = _tables()
    named = [name for doc in tables.DOCS for name, _ in tables.blocks(doc.read_text())]
    assert named, "the docs quote no results table"
    assert all(name in tables.RENDERERS or name in tables.COMBINED or name in tables.FOLDERS for name in named)
    assert tables.stale() == [], "run .venv/bin/python scripts/results_tables.py"


def test_a_changed_number_makes_a_table_stale(tmp_path, monkeypatch):
    tables = _tables()
    doc = tmp_path / "README.md"
    name = "pretrained-kl-64x64"
    doc.write_text(f"<!-- results:{name} -->\n{tables.rendered(name)}<!-- results:end -->\n")
    monkeypatch.setattr(tables, "DOCS", (doc,))
    assert tables.stale() == []
    doc.write_text(doc.read_text().replace("%", "0%", 1))
    assert tables.stale() == [f"{doc}: {name}"]


def test_the_budgets_table_reads_every_study_and_what_more_real_data_adds():
    tables = _tables()
    iv = lambda m: {"mean": m, "std": 0.0, "n": 1}  # noqa: E731
    def study(budget, classical, tstr):
        arms = {"real": iv(0.5), "real+classical": iv(classical), "real+classical+synthetic": iv(0.7),
                "synthetic": iv(0.2)}
        gains = {g: iv(0.01) for g in ("synthetic over classical", "synthetic over real", "classical over real")}
        summary = {"real_train": 310, "arms": arms, "gains": gains} | ({"tstr_samples": tstr} if tstr else {})
        return {"command": f"mdaug utility {budget}", "date": "d", "machine": "m", "wall_s": 3600,
                "report": {"summary": {budget: summary}}}
    text = tables.render_budgets({"a": study("5", 0.70, 155), "b": study("all", 0.735, None)})
    rows = [line for line in text.splitlines() if line.startswith(("| 5 ", "| all "))]
    assert len(rows) == 2 and "155 from noise" in rows[0] and "the chosen pool" in rows[1]
    assert "5 to all real per person: +3.5 points" in text and "`mdaug utility all`" in text


def test_every_relative_link_and_picture_in_the_docs_exists():
    import re

    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
    broken = []
    for doc in docs:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            if not (doc.parent / target.split("#")[0]).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_readme_is_a_tour_and_links_every_document():
    readme = (ROOT / "README.md").read_text()
    assert "<!-- config-reference:start" not in readme  # the reference lives in docs/config.md
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{doc.name})" in readme, doc.name


def _prose(text: str) -> list[str]:
    """The paragraphs (and list items) of a Markdown text, without code, tables, pictures, headings and the
    generated result blocks."""
    import re

    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"<!-- results:[\w-]+ -->.*?<!-- results:end -->", "", text, flags=re.S)
    out = []
    for block in re.split(r"\n\s*\n", text):
        if block.lstrip().startswith(("|", "<!--", "#", "![")):
            continue
        out += [item for item in re.split(r"\n(?=- |\d+\. )", block) if item.strip()]
    return out


def test_the_readme_opens_with_the_commands_and_keeps_its_paragraphs_short_and_its_figures_generated():
    """A newcomer's first screen: the two commands within 20 lines; no paragraph over 60 words; no measured figure
    typed in the prose (percentages, points, minutes live in the tables generated from results files)."""
    import re

    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert any(line.startswith("make demo") for line in lines[:20]) and any(
        line.startswith("make test") for line in lines[:20])
    long = [(len(p.split()), p[:60]) for p in _prose(readme) if len(p.split()) > 60]
    assert long == []
    typed = [p[:60] for p in _prose(readme) if re.search(r"\d+(\.\d+)?\s*(%|points?\b|min\b|minutes\b|hours?\b)", p)]
    assert typed == []
