"""Where a measurement comes from: the command, the date and the machine, written next to every result that a
document quotes (model cards, benchmarks/results/*.json)."""

from __future__ import annotations

import datetime
import os
import platform

import torch


def machine() -> str:
    """The architecture, CPU cores, torch build and GPU (when one is used) of this machine."""
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
            + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))


def provenance(command: str) -> dict[str, str]:
    """{command, date, machine} of a measurement made now."""
    return {"command": command, "date": datetime.date.today().isoformat(), "machine": machine()}


__all__ = ["machine", "provenance"]
