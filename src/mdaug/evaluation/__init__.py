"""Evaluation: measures, never trains a model it reports on.

    reconstruction.py      stage-1 reconstruction quality (mdaug eval-ae)
    health.py              latent statistics (code use, posterior) accumulated over samples
    diagnose.py            latent-space health verdicts (mdaug diagnose)
    generation_quality.py  FID/KID, precision/recall, identity, memorisation, physics (mdaug evaluate)
    metrics.py, features.py  the measurements themselves
    records.py             the typed records every evaluation writes and the report reads
    results.py, report.py  a pipeline folder's results, metrics.json and the HTML page; mdaug compare
    figures.py             reconstruction and sample grids
"""
