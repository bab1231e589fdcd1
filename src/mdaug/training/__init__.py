"""One recipe per stage on one protocol (recipe.py): the recogniser (recognizer.py), stage 1 (autoencoder.py) and
stage 2 (stage2.py); and the small pieces they share: the seeded and sharded batch order, checkpoints, optimisers,
EMA and logging."""
