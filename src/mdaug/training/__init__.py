"""One recipe per stage (autoencoder.py, recognizer.py) and the small pieces they share: the run's data,
the seeded and sharded batch order, checkpoints and logging."""
