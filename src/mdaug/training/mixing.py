"""Which rows a recogniser trains on at each step, when some of its training samples are synthetic
(recognizer_train.synthetic_*): one shuffled pool; a fixed synthetic share of every batch; or synthetic samples
alone first and real ones alone after (pretrain on synthetic, fine-tune on real). Every choice is a pure function
of the micro-step, like BatchOrder, so a resumed run draws the very same batches."""

from __future__ import annotations

import numpy as np

from mdaug.config import RecognizerTrainConfig
from mdaug.data.canonical import SYNTHETIC_ID_PREFIX, SpectrogramSet
from mdaug.errors import MdaugError
from mdaug.training.batches import BatchOrder


def synthetic_rows(ds: SpectrogramSet) -> np.ndarray:
    """(n,) bool: which samples of `ds` are synthetic."""
    return np.array([i.startswith(SYNTHETIC_ID_PREFIX) for i in ds.ids], dtype=bool)


class MixedBatches:
    def __init__(self, rows: np.ndarray, synthetic: np.ndarray, tc: RecognizerTrainConfig, *, seed: int, rank: int,
                 world: int) -> None:
        """`rows`: the training rows; `synthetic`: bool per dataset row."""
        self.tc = tc
        rows = np.asarray(rows, dtype=np.int64)
        syn, real = rows[synthetic[rows]], rows[~synthetic[rows]]
        b = tc.batch_size
        try:
            self.order = BatchOrder(rows, b, seed=seed, rank=rank, world=world)
            self.real = self.syn = None
            if tc.synthetic_pretrain_steps or tc.synthetic_share is not None:
                if not len(syn) or not len(real):
                    raise ValueError("a synthetic share or pretraining needs both real and synthetic samples")
                b_syn = b if tc.synthetic_pretrain_steps else min(b - 1, max(1, round(tc.synthetic_share * b)))
                b_real = b if tc.synthetic_pretrain_steps else b - b_syn
                self.real = BatchOrder(real, b_real, seed=seed, rank=rank, world=world)
                self.syn = BatchOrder(syn, b_syn, seed=seed + 1, rank=rank, world=world)
        except ValueError as e:
            raise MdaugError(f"recogniser: {e} (recognizer_train.batch_size, synthetic_*)") from None

    def batch(self, step: int, micro: int) -> np.ndarray:
        """Dataset rows of micro-batch `micro` (global micro-step) of optimizer step `step`."""
        if self.real is None:
            return self.order.batch(micro)
        if self.tc.synthetic_pretrain_steps:
            return self.syn.batch(micro) if step < self.tc.synthetic_pretrain_steps else self.real.batch(micro)
        return np.concatenate([self.real.batch(micro), self.syn.batch(micro)])


__all__ = ["MixedBatches", "synthetic_rows"]
