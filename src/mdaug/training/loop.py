"""The step loop every training recipe shares: loss log (jsonl), TensorBoard, progress bar, periodic images
and checkpoints, a stop after a given step (as a killed session would), and final/ at the end. A recipe
provides `accelerator`, `state.step`, `run`, `console`, `train_step(step)`, `write_images(step)`,
`save(step)`, `save_final()` and may override `after_step(step)` (scalars logged under health/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from mdaug.train_config import TrainConfig
from mdaug.training.common import LossLog


class RecipeLoop:
    def after_step(self, step: int) -> dict[str, Any]:
        """Measurements after optimizer step `step` (0-based) that go to TensorBoard under health/."""
        return {}

    def run_loop(self, t: TrainConfig, desc: str, postfix: tuple[str, ...], stop_after: int | None) -> Path | None:
        acc = self.accelerator
        main = acc.is_main_process
        start = self.state.step
        log = LossLog(self.run / "losses.jsonl", start if start else None) if main else None
        writer = None
        if main:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.run / "logs"), purge_step=start if start else None)
        bar = tqdm(total=t.steps, initial=start, desc=desc, unit="step",
                   disable=not (main and self.console is not None), dynamic_ncols=True)
        try:
            for step in range(start, t.steps):
                logs = self.train_step(step)
                self.state.step = step + 1
                extra = self.after_step(step)
                if main:
                    log.write({"step": step + 1} | logs)
                    if (step + 1) % t.log_every == 0 or step + 1 == t.steps:
                        for k, v in logs.items():
                            writer.add_scalar(f"train/{k}", v, step + 1)
                        bar.set_postfix({k: f"{logs[k]:.4g}" for k in postfix if k in logs})
                    for k, v in extra.items():
                        if isinstance(v, float):
                            writer.add_scalar(f"health/{k}", v, step + 1)
                bar.update(1)
                if (step + 1) % t.image_every == 0 or step + 1 == t.steps:
                    self.write_images(step + 1)
                if (step + 1) % t.checkpoint_every == 0 or step + 1 in (t.steps, stop_after):
                    self.save(step + 1)
                if step + 1 == stop_after:
                    return None
        finally:
            bar.close()
            if main:
                log.close()
                writer.close()
        final = self.save_final() if main else self.run / "final"
        acc.wait_for_everyone()
        return final


__all__ = ["RecipeLoop"]
