"""The words mdaug's outputs use, defined once: docs/glossary.md and the report's "Terms" section are both written
from this list (scripts/update_docs.py; a test checks the file is current)."""

from __future__ import annotations

import re

GLOSSARY: list[tuple[str, str]] = [
    ("micro-Doppler spectrogram", "Doppler frequency (rows) against time (columns) of a radar echo, in dB: the "
     "torso's line and the swinging limbs' periodic traces around it."),
    ("class", "What a recogniser names: a person (gait identification) or an activity. `--per-class N` always means "
     "N spectrograms of each class."),
    ("session", "A set of recordings made together (one walk, one day, one setting). Splits keep a session's "
     "recordings on one side, so the test split holds sessions the models never saw."),
    ("conditions", "How a recording was made: speed, radial speed, aspect angle, walking direction, SNR, gait cycle, "
     "range, radar, load. Read from `conditions.csv` beside the data or estimated from the spectrogram."),
    ("unseen conditions", "Test recordings whose conditions no training recording of their class shows; the "
     "utility study reports every arm on them as well."),
    ("direction-free", "Labels that stay true when the person walks the other way (identities: yes; approaching or "
     "retreating: no). Only direction-free labels may use the Doppler mirror (`data.direction_free`)."),
    ("Doppler mirror", "The spectrogram flipped about zero Doppler: the same walker going the other way."),
    ("stage 1", "The autoencoder that compresses a spectrogram into a small latent (or a grid of codes) and decodes "
     "it back."),
    ("stage 2", "The class-conditional generator that draws new latents (or codes) for stage 1 to decode."),
    ("kl (VAE)", "Stage 1 with a continuous latent kept near a unit Gaussian by a small KL penalty."),
    ("VQ-VAE (vq)", "Stage 1 whose latent is a grid of entries of a learned codebook (vector quantisation)."),
    ("VQ-GAN (vqgan)", "A VQ-VAE also trained against a PatchGAN discriminator, with perceptual and spectral losses, "
     "for sharper texture."),
    ("RQ-VAE (rq)", "Stage 1 with residual quantisation: each latent is a sum of several codes, coarse to fine."),
    ("FSQ (fsq)", "Finite scalar quantisation: each latent channel rounded to a few levels; no codebook to collapse."),
    ("latent diffusion", "Stage 2 that denoises latents step by step from noise, conditioned on the class (and the "
     "conditions when trained with them)."),
    ("code prior", "Stage 2 for the discrete families: a masked transformer (MaskGIT) that predicts the grid of codes "
     "of a class."),
    ("guidance", "Classifier-free guidance: how strongly a sample is pushed towards its class. 1 draws from the "
     "model's class distribution; higher trades variety for identity."),
    ("sampler", "The numerical method and number of steps that turn noise into a latent (ddpm, ddim, dpm++)."),
    ("texture", "The speckle of the noise floor, which stage 1 smooths away; fitted per model on its training data "
     "and optionally put back on samples (`--texture`)."),
    ("latent health", "Whether a stage-1 latent is one stage 2 can learn: the `mdaug diagnose` checks below."),
    ("variance collapse", "Latent channels whose values barely vary over the data: they carry nothing."),
    ("codebook usage", "The share of a codebook's entries the data actually uses; a collapsed codebook uses few."),
    ("pointer-like codes", "Codes that index individual training samples rather than describe shared structure: "
     "good reconstruction, poor generation."),
    ("linear probe", "How well a linear classifier names the class from the latent: class information a stage 2 can "
     "find."),
    ("diffusability", "How well a small denoiser learns the latent in a few steps: a quick forecast of stage 2."),
    ("detail margin", "How much closer (dB PSNR) stage 1's reconstructions of held-out spectrograms are to them than "
     "the nearest other recording is; below 0 recordings blur into each other. The diagnose figure that best "
     "forecasts stage 2."),
    ("strategy", "How synthetic training samples are drawn for the utility study and the export: from noise, "
     "anchored, mirrored, fill; sifted or not."),
    ("from noise", "Samples drawn from pure noise under their class."),
    ("anchored", "Samples drawn as variations of a real training spectrogram (noised part-way, then denoised; "
     "`strength` below 1)."),
    ("mirrored", "Anchored samples whose anchor was mirrored about zero Doppler first: the class walking the other "
     "way. Direction-free labels only; with labels not known to be, a mirroring strategy runs without its mirror, "
     "named NAME-unmirrored."),
    ("fill", "Samples asked for the session conditions a person's own training recordings lack."),
    ("sifted", "Kept only if a recogniser trained on the same real training data names their class (with a "
     "confidence threshold), and not near-copies of a training spectrogram."),
    ("budget", "How much real training data per class a utility run uses: N spectrograms, N sessions (`Ns`), or "
     "`all`."),
    ("repeat", "One run of a budget with its own split and models; intervals come from several (`--repeats`)."),
    ("arm", "One recogniser of the utility study: real, real + classical, pretrained, real + classical + synthetic, "
     "synthetic only."),
    ("real + classical", "Real training data with the augmentations physics makes exact (lower SNR, Doppler mirror "
     "for direction-free labels, small shifts): the baseline a generator must beat."),
    ("lower SNR", "Classical augmentation that adds noise in linear power, as a quieter recording would show; its "
     "dose is chosen on validation."),
    ("pretrained recogniser", "The recogniser shipped pretrained on the simulated corpus, fine-tuned on the real "
     "training data."),
    ("synthetic only (TSTR)", "A recogniser trained on synthetic samples alone and tested on real ones."),
    ("validation split", "Real recordings held out from training, used for every choice (strategy, guidance, dose); "
     "never the test split."),
    ("test split", "Real recordings of sessions no model trained or chose on; every accuracy in the report is on it."),
    ("identity", "How often the evaluation recogniser names a spectrogram's class: for real test recordings, for "
     "stage-1 reconstructions and for generated samples."),
    ("chance", "Identity of a guess: 1 / number of classes."),
    ("FID / KID", "Distances between the feature distributions of two sets in the evaluation recogniser's feature "
     "space; lower is closer."),
    ("floor", "The value of a measure between two sets of real recordings (training against test): FID at the floor "
     "means samples are as close to the test set as real training data is."),
    ("stage-1 ceiling", "The value of a measure for stage-1 reconstructions of the test set: what stage 2 can reach "
     "through that stage 1, give or take sampling noise (samples can land slightly above it)."),
    ("precision / recall", "The share of samples that lie among real ones / of real ones covered by samples, by "
     "k-nearest neighbours in feature space, each judged against the floor; k is the smallest at which real "
     "training spectrograms count as real against the test split (other sessions lie further apart than k=3)."),
    ("memorisation", "Samples much closer to one training spectrogram than to any other (near-copies)."),
    ("interval", "The 95% interval of a mean over repeats (t distribution); a gain is paired per repeat. With one "
     "repeat there is none."),
]


def anchor(term: str) -> str:
    """The HTML id and Markdown anchor of a term."""
    return "term-" + re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def glossary_markdown() -> str:
    """The whole of docs/glossary.md."""
    lines = ["# Glossary", "", "The words mdaug's commands, logs and reports use. Generated from "
             "`src/mdaug/glossary.py` by `scripts/update_docs.py`; the report ends with the same list.", ""]
    for term, text in GLOSSARY:
        lines += [f"<a id='{anchor(term)}'></a>**{term}**: {text}", ""]
    return "\n".join(lines)


def glossary_html() -> str:
    """The report's Terms section: a definition list, each term with its anchor."""
    import html

    def md(text: str) -> str:  # the list's only markup: `code`
        return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))

    items = "".join(f"<dt id='{anchor(t)}'>{html.escape(t)}</dt><dd>{md(d)}</dd>" for t, d in GLOSSARY)
    return f"<h2 id='terms'>Terms</h2><dl class='terms'>{items}</dl>"


__all__ = ["GLOSSARY", "anchor", "glossary_html", "glossary_markdown"]
