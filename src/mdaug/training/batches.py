"""Seeded, sharded batch order as a pure function of the micro-step number.

Each epoch is a fresh permutation drawn from (seed, epoch); process r of w takes its own contiguous slice of
every global batch, so the processes see disjoint samples, and a resumed run needs no saved sampler state:
the step number says where the data order stands."""

from __future__ import annotations

import numpy as np
import torch

from mdaug import seeds


class BatchOrder:
    def __init__(self, indices: np.ndarray, batch_size: int, *, seed: int, rank: int = 0, world: int = 1) -> None:
        assert 0 <= rank < world, "rank must be in [0, world)"
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world
        if len(self.indices) < batch_size * world:
            raise ValueError(f"{len(self.indices)} training samples cannot fill one batch of {batch_size} on "
                             f"{world} process(es); lower the batch size")
        self.batches_per_epoch = len(self.indices) // (batch_size * world)  # the incomplete last batch is dropped

    def epoch_of(self, micro_step: int) -> int:
        return micro_step // self.batches_per_epoch

    def permutation(self, epoch: int) -> np.ndarray:
        g = torch.Generator().manual_seed(self.seed * seeds.EPOCH_PERMUTATION + epoch)
        return self.indices[torch.randperm(len(self.indices), generator=g).numpy()]

    def batch(self, micro_step: int) -> np.ndarray:
        """Dataset indices of this process's batch at `micro_step` (0, 1, 2, ... across epochs)."""
        epoch, pos = divmod(micro_step, self.batches_per_epoch)
        perm = self.permutation(epoch)
        start = (pos * self.world + self.rank) * self.batch_size
        return perm[start:start + self.batch_size]

    def generator(self, micro_step: int, stream: int = 0) -> torch.Generator:
        """A generator for this micro-step's augmentation, the same after a resume, different per process; other
        `stream`s give independent draws for other augmentations of the same micro-step."""
        base = (self.seed * seeds.AUGMENT_STEP + micro_step) * seeds.AUGMENT_PROCESS + self.rank
        if stream:
            base = int(np.random.SeedSequence([base, stream]).generate_state(1, np.uint64)[0] >> np.uint64(1))
        return torch.Generator().manual_seed(base)
