"""Evaluation: reconstruction quality of stage 1 (reconstruction.py), and later latent health, generation
quality and downstream utility."""
