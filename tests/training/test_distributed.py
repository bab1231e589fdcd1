"""The stage-1 recipe under real DDP: 2 CPU processes with gloo via torchrun (accelerate launch --cpu would
silently run one). After a few steps both ranks hold identical weights and codebooks, and they trained on
disjoint halves of each global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.parametrize("family", ["vq"])
def test_two_processes_stay_identical_and_shard_the_data(family, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="",
               MDAUG_CACHE=os.environ.get("MDAUG_CACHE", str(tmp_path / "cache")))
    # the data is simulated once, before the processes start, so that they do not race for the cache
    subprocess.run([sys.executable, "-c", "from mdaug.config import load_config; from mdaug.runs.run_data import "
                    "load_run_data; load_run_data(load_config('tiny'))"], env=env, check=True, capture_output=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
           str(tmp_path), family]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["world"] == r1["world"] == 2 and {r0["rank"], r1["rank"]} == {0, 1}
    assert r0["params"] == r1["params"]
    assert r0["n_codebook_tensors"] > 0 and r0["codebook"] == r1["codebook"]
    # 4 steps x batch 4 per rank: each rank saw 16 samples, and within every step the ranks' batches are disjoint
    assert len(r0["seen"]) == len(r1["seen"]) == 16
    for s in range(4):
        a, b = set(r0["seen"][4 * s:4 * s + 4]), set(r1["seen"][4 * s:4 * s + 4])
        assert not a & b
    assert r0["final_exists"]
