"""Every offset that derives one seed from another, named, with the reason for it. Changing a value changes what
every run draws, so the values are part of the results' reproducibility and stay fixed."""

LOSS_RECOGNIZER = 1000
"""The perceptual loss's recogniser (role 'loss') trains with recognizer_train.seed + this: another initialisation,
another batch order and another carve-out than the evaluation recogniser, so the network that shapes stage 1
never judges it."""

PROCESS_NOISE = 7_919
"""Stage 2 reseeds the global RNG with seed + this x (1 + process index) after building the model (which every
process builds from the same seed): each process then draws its own diffusion noise and masks. A prime, so the
streams of different processes and nearby seeds never coincide."""

UTILITY_REPEAT = 101
"""Repeat r of a utility budget trains every model (stage 1, stage 2, recognisers) with its seed + this x r: other
initialisations and batch orders per repeat, and never the seed of another repeat for seeds below 101."""

UTILITY_SYNTHETIC = 1000
"""Repeat r of a utility budget draws its synthetic samples with the run's seed + this x r (repeat 0 draws with the
run's seed, as `mdaug augment` does, so that the pipeline's exported samples are repeat 0's)."""

UTILITY_TSTR = 500
"""The synthetic-only arm's pool of repeat r is drawn with the run's seed + UTILITY_SYNTHETIC x r + this: apart from
the strategies' pools, which add their index (0, 1, ...) instead."""

EPOCH_PERMUTATION = 1_000_003
"""BatchOrder: epoch e of a run with seed s is shuffled with seed s x this + e (a prime larger than any epoch
count, so no two (seed, epoch) pairs share a permutation)."""

AUGMENT_STEP = 7_919
"""BatchOrder: micro-step m of process r draws its augmentation from ((s x this + m) x AUGMENT_PROCESS + r)."""

AUGMENT_PROCESS = 1_009
"""See AUGMENT_STEP: a prime larger than any process count, so processes never share an augmentation stream."""
