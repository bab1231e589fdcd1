"""The one place that chooses matplotlib's backend: every figure of mdaug is written to a file, never shown, so the
non-interactive Agg backend is set before pyplot is first imported (it also works without a display)."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend. Imported on first use so that commands without figures do not pay for
    matplotlib's import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


__all__ = ["pyplot"]
