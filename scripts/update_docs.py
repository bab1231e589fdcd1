"""Regenerate the generated docs: docs/cli.md from the command line, the config table of docs/config.md from the
typed config (tests check both are current)."""

import runpy
from pathlib import Path

from mdaug.cli.reference import cli_markdown

root = Path(__file__).parents[1]
(root / "docs" / "cli.md").write_text(cli_markdown())
print("docs/cli.md updated")
runpy.run_path(str(root / "scripts" / "update_readme_config.py"))

from mdaug.glossary import glossary_markdown  # noqa: E402

(root / "docs" / "glossary.md").write_text(glossary_markdown())
print("docs/glossary.md updated")
