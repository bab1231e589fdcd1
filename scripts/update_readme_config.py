"""Regenerate the config reference table in docs/config.md from the typed config (tests check it is current)."""

import re
from pathlib import Path

from mdaug.config import reference_markdown

readme = Path(__file__).parents[1] / "docs" / "config.md"
text = readme.read_text()
start, end = "<!-- config-reference:start", "<!-- config-reference:end -->"
pattern = re.compile(re.escape(start) + r"[^\n]*\n.*?" + re.escape(end), re.S)
head = re.search(re.escape(start) + r"[^\n]*\n", text).group(0)
readme.write_text(pattern.sub(lambda _: head + reference_markdown() + "\n" + end, text))
print("docs/config.md config reference updated")
