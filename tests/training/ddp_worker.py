"""Run by test_distributed.py under `torchrun --nproc_per_node 2`: a few stage-1 steps on CPU (gloo), then
each rank writes a digest of its parameters and codebook and the sample indices it trained on."""

import hashlib
import json
import sys
from pathlib import Path

from mdaug.config import load_config
from mdaug.training.autoencoder import AutoencoderRecipe
from mdaug.training.batches import BatchOrder


def digest(tensors: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        h.update(k.encode() + tensors[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(out: Path, family: str) -> None:
    seen: list[int] = []
    real_batch = BatchOrder.batch

    def recording(self, micro_step):
        idx = real_batch(self, micro_step)
        seen.extend(int(i) for i in idx)
        return idx

    BatchOrder.batch = recording
    over = [f"ae.family={family}", "ae.block_out_channels=[8,16]", "ae.norm_num_groups=8", "ae_train.batch_size=4",
            "ae_train.steps=4", "ae_train.checkpoint_every=2", "ae_train.image_every=1000", "augment.time_shift=0.25"]
    if family != "kl":
        over += ["ae.codebook_size=16", "ae.dead_code_threshold=2"]
    if family == "vqgan":
        over += ["gan.channels=8", "gan.layers=2", "gan.gen_start=2"]
    recipe = AutoencoderRecipe(load_config("tiny", over), out / "run")
    recipe.train()
    model = recipe.unwrapped.state_dict()
    rank = recipe.accelerator.process_index
    report = {"rank": rank, "world": recipe.accelerator.num_processes, "seen": seen,
              "params": digest({k: v for k, v in model.items() if "quantizer" not in k}),
              "codebook": digest({k: v for k, v in model.items() if "quantizer" in k}),
              "n_codebook_tensors": sum("quantizer" in k for k in model),
              "final_exists": (out / "run" / "final" / "mdaug.json").exists()}
    (out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
