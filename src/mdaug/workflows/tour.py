"""The simulator tour (`mdaug tour`): simulate the built-in 31-person gait dataset, write it also as a jet-coloured
image folder, and read both back through the data layer with previews. Steps whose output already exists are
skipped, so the tour can be re-run or continued after a kill."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from mdaug.config import load_config
from mdaug.data import is_prepared, load_prepared, read_dataset
from mdaug.data.conditions import dataset_conditions
from mdaug.data.summary import preview_grid, print_summary, summarize
from mdaug.errors import MdaugError
from mdaug.simulate.dataset import simulate_dataset, with_output_size
from mdaug.simulate.export import write_simulated


def run_demo(out: Path, console: Console, preset: str = "gait31") -> Path:
    cfg = with_output_size(load_config(preset))
    if out.exists() and not out.is_dir():
        raise MdaugError(f"--out {out} is a file; choose a folder")
    data = out / "gait"
    if is_prepared(data) and (data / "preview.png").exists():
        load_prepared(data)  # complete (written last) and intact
        console.print(f"simulated dataset exists, reusing {data}")
    else:
        if data.exists():
            raise MdaugError(f"{data} exists but is incomplete; remove it and re-run")
        s = cfg.simulate
        console.print(f"[bold]simulating[/bold] {s.people} people x {s.per_person} recordings ({s.sessions} sessions), "
                      f"{s.radar.carrier_hz / 1e9:g} GHz radar -> {data}")
        sim = simulate_dataset(s, cfg.data.size)
        tmp = data.with_name(data.name + ".partial")  # written beside, then renamed: never half-reused
        shutil.rmtree(tmp, ignore_errors=True)
        write_simulated(sim, tmp, cfg, images=True)
        tmp.rename(data)
    for path in (data, data / "images"):
        console.rule(f"mdaug data inspect {path}")
        result = read_dataset(path, cfg.data, progress=False, collect=True)
        print_summary(summarize(result, dataset_conditions(result.dataset, path, cfg.data)), console)
        if path.name == "images":
            preview_grid(result.dataset, out / "preview_images.png", per_class=4, max_classes=8, seed=cfg.seed)
    console.rule("done")
    console.print(f"dataset: {data}  (people.csv: traits, recordings.csv: speed/aspect/range/SNR per recording)")
    console.print(f"preview: {data / 'preview.png'} (one spectrogram per person, axes in Hz and seconds)")
    console.print(f"image folder read back through the jet colormap: {out / 'preview_images.png'}")
    return data
