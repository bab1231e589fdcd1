"""Where a measurement comes from: the command, the date and the machine, written next to every result that a
document quotes (model cards, benchmarks/results/*.json)."""

from __future__ import annotations

import datetime
import os
import platform

import torch


def machine() -> str:
    """The architecture, CPU cores, torch build and GPU (when one is used) of this machine, and the threads torch
    computes on when fewer than the cores (a run given one core of two while another ran beside it)."""
    threads = torch.get_num_threads()
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
            + (f", {threads} torch thread{'s' if threads > 1 else ''}" if threads < (os.cpu_count() or 1) else "")
            + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))


def provenance(command: str) -> dict[str, str]:
    """{command, date, machine} of a measurement made now."""
    return {"command": command, "date": datetime.date.today().isoformat(), "machine": machine()}


__all__ = ["machine", "provenance"]
