"""Run folders: the contract between stages. What a run folder holds and what its files are called (layout),
what a saved model is (typed cards), the data a run trains on (run_data), and loading a finished run's model with
everything needed to use it (loading, latent_cache). Training writes runs; sampling, evaluation and the workflows
read them, through this package only."""
