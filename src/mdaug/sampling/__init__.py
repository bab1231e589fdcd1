"""Sampling from a trained stage-2 model (generate) and writing an augmented dataset in the user's format (export)."""
