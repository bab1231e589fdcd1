"""Who a person is, from their recordings: the mean embedding of a class's training recordings by the recogniser
shipped pretrained on the simulated corpus (mdaug/pretrained/recognizer-*; people in no built-in dataset), given to
stage 2 beside the class's learned row (ldm.person=recordings). A recogniser trained to tell hundreds of walkers apart
under many conditions knows what makes a walker themself; a row learned from a person's few recordings knows only
those recordings, and conditions take over what it would have carried."""

from __future__ import annotations

import numpy as np
import torch

from mdaug.errors import MdaugError
from mdaug.inference import in_batches
from mdaug.models import Recognizer, load_strict
from mdaug.runs.pretrained import fitting_shipped_recognizer


def shipped_identity_recognizer(input_shape: tuple[int, ...]) -> tuple[Recognizer, str]:
    """The shipped recogniser for spectrograms of `input_shape` (channels, doppler, time), and its folder's name."""
    probe = Recognizer(in_channels=int(input_shape[0]), num_classes=2)
    folder = fitting_shipped_recognizer(probe, list(input_shape))
    if folder is None:
        raise MdaugError(f"ldm.person=recordings needs the shipped pretrained recogniser, and none fits "
                         f"{'x'.join(map(str, input_shape))} spectrograms; set ldm.person=embedding")
    return load_strict(Recognizer, folder).eval(), folder.name


@torch.no_grad()
def identity_features(recognizer: Recognizer, x: np.ndarray, labels: np.ndarray, num_classes: int,
                      batch_size: int = 256) -> torch.Tensor:
    """(num_classes, features): each class's mean recogniser embedding over its spectrograms x, scaled to unit
    length (a class without spectrograms: zeros)."""
    emb = in_batches(recognizer.embed, np.asarray(x, np.float32), batch_size=batch_size)
    out = torch.zeros(num_classes, emb.shape[1])
    for c in range(num_classes):
        rows = torch.from_numpy(np.flatnonzero(labels == c))
        if len(rows):
            out[c] = emb[rows].mean(0)
    return torch.nn.functional.normalize(out, dim=1)


__all__ = ["identity_features", "shipped_identity_recognizer"]
