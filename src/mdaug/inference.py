"""Running a model over more samples than fit in one batch: the one loop that every inference in mdaug goes through
(recognisers naming classes, embeddings, stage-1 reconstructions and encodings, nearest-neighbour distances), so
that batching, gradient-free evaluation, device transfer and the empty case are handled the same everywhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

Batch = torch.Tensor | Sequence[torch.Tensor | None] | None


def _cat(parts: list[Any]) -> Any:
    first = parts[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return torch.cat(parts)
    return tuple(_cat([p[k] for p in parts]) for k in range(len(first)))


def _cpu(out: Any) -> Any:
    if out is None or isinstance(out, torch.Tensor):
        return None if out is None else out.detach().cpu()
    return tuple(_cpu(o) for o in out)


@torch.no_grad()
def in_batches(fn: Callable[..., Batch], *arrays: np.ndarray | torch.Tensor, batch_size: int = 256,
               device: torch.device | str | None = None) -> Any:
    """fn applied to consecutive slices of `arrays` (equal lengths; numpy arrays become tensors, moved to `device`
    when given), without gradients; its outputs (a tensor, or a tuple of tensors or None) are moved to the CPU and
    concatenated along the first dimension. With no samples, fn sees one empty slice, so the outputs still have
    their shape beyond the first dimension."""
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"in_batches needs arrays of one length, not {[len(a) for a in arrays]}")
    parts = []
    for start in range(0, max(n, 1), batch_size):
        batch = [torch.as_tensor(a[start:start + batch_size]) for a in arrays]
        if device is not None:
            batch = [b.to(device) for b in batch]
        parts.append(_cpu(fn(*batch)))
    return _cat(parts)


def reconstruct(model: torch.nn.Module, x: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                device: torch.device | str | None = None,
                each: Callable[[Any, slice], None] | None = None) -> np.ndarray:
    """x (n, c, H, W) in [-1, 1] through a stage-1 autoencoder (posterior mode: the deterministic reconstruction),
    clipped to [-1, 1], as float32 numpy. `each(output, rows)` sees every batch's full model output (latents,
    codes) with the rows of x it came from. The model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    done = 0

    def step(xb: torch.Tensor) -> torch.Tensor:
        nonlocal done
        out = model(xb, sample_posterior=False)
        if each is not None and len(xb):
            each(out, slice(done, done + len(xb)))
        done += len(xb)
        return out.sample.float().clamp(-1, 1)

    try:
        return in_batches(step, x, batch_size=batch_size, device=device).numpy()
    finally:
        model.train(was_training)


__all__ = ["in_batches", "reconstruct"]
