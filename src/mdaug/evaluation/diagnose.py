"""Latent-space health of a stage-1 model (`mdaug diagnose RUN`): can a generative model use this latent
space? A first stage can reconstruct almost perfectly and still hand stage 2 a collapsed posterior, a
collapsed codebook or pointer-like codes (a lookup table whose neighbourhoods mean nothing). Measured over the
whole dataset, each problem gets a verdict with its measured value and threshold.

Smoothness, neighbourhood consistency and the linear probe are each compared with the same measurement in
pixel space, so that a verdict says "worse than the spectrograms themselves", not an absolute number that
depends on the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mdaug.errors import MdaugError
from mdaug.evaluation.health import HealthAccumulator, codebook_stats
from mdaug.evaluation.metrics import nearest_neighbours
from mdaug.evaluation.reconstruction import psnr_db
from mdaug.evaluation.record_parts import DiagnoseMeasures, DiagnoseThresholds, Fidelity, Files, Roughness
from mdaug.evaluation.records import DiagnoseReport, Verdict
from mdaug.files import free_path
from mdaug.inference import reconstruct
from mdaug.models import Encoded
from mdaug.models.latents import LatentSet, latent_stats
from mdaug.plotting import pyplot
from mdaug.runs.latent_cache import cached_latents, encode_rows
from mdaug.runs.layout import EVAL
from mdaug.runs.loading import PretrainedAutoencoder, load_pretrained_autoencoder, stage1_data
from mdaug.runs.run_data import RunData

THRESHOLDS = DiagnoseThresholds()
LEARNED_CODEBOOKS = ("vq", "vqgan", "rq")
"""The code families whose codes are learned vectors (fsq's are points of a fixed grid)."""


# ---------------------------------------------------------------------------------------------- measurements


def knn_agreement(feats: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Share of each sample's k nearest neighbours (Euclidean, itself excluded) that share its class."""
    feats = np.asarray(feats, dtype=np.float64).reshape(len(feats), -1)
    _, idx = nearest_neighbours(feats, feats, min(k, len(feats) - 1), exclude_self=True)
    return float((labels[idx] == labels[:, None]).mean())


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, n_classes: int,
                 *, steps: int = 100, l2: float = 1e-3, seed: int = 0) -> float:
    """Test accuracy of an L2-regularised multinomial logistic regression on standardised features, fitted
    full-batch with L-BFGS (a few lines of torch; scikit-learn is not a dependency)."""
    xt = torch.as_tensor(train_x, dtype=torch.float32).flatten(1)
    xs = torch.as_tensor(test_x, dtype=torch.float32).flatten(1)
    mu, sd = xt.mean(0), xt.std(0).clamp_min(1e-6)
    xt, xs = (xt - mu) / sd, (xs - mu) / sd
    w = torch.zeros(xt.shape[1], n_classes)
    w.normal_(0, 0.01, generator=torch.Generator().manual_seed(seed))
    w.requires_grad_(True)
    b = torch.zeros(n_classes, requires_grad=True)
    yt = torch.as_tensor(train_y, dtype=torch.long)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(xt @ w + b, yt) + l2 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((xs @ w + b).argmax(1) == torch.as_tensor(test_y)).float().mean())


def path_roughness(frames: torch.Tensor) -> torch.Tensor:
    """frames (pairs, points, ...): the images along a path from frame 0 to frame -1. Length of the path
    (sum of L1 steps) over the straight distance between its ends: 1 for a path that moves steadily in one
    direction, large when the decoder jumps back and forth (pointer-like latents)."""
    steps = (frames[:, 1:] - frames[:, :-1]).abs().flatten(2).mean(2).sum(1)
    direct = (frames[:, -1] - frames[:, 0]).abs().flatten(1).mean(1)
    return steps / direct.clamp_min(1e-8)


@torch.no_grad()
def interpolation_roughness(pre: PretrainedAutoencoder, latents: torch.Tensor, labels: np.ndarray, *, pairs: int = 16,
                            points: int = 9, seed: int = 0) -> Roughness:
    """Decoder output along straight lines between the latents of same-class and different-class pairs
    (median path roughness of each)."""
    rng = np.random.default_rng(seed)
    t = torch.linspace(0, 1, points)[None, :, None, None, None]
    out = {}
    for kind in ("same_class", "different_class"):
        a_idx, b_idx = [], []
        while len(a_idx) < pairs:
            i, j = rng.integers(len(labels), size=2)
            if i != j and (labels[i] == labels[j]) == (kind == "same_class"):
                a_idx.append(i)
                b_idx.append(j)
        za, zb = latents[a_idx][:, None], latents[b_idx][:, None]
        path = (1 - t) * za + t * zb  # (pairs, points, c, h, w)
        frames = pre.model.decode(path.flatten(0, 1)).float().clamp(-1, 1)
        out[kind] = float(path_roughness(frames.view(pairs, points, *frames.shape[1:])).median())
    return Roughness(**out)


def diffusability(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor, test_y: torch.Tensor,
                  n_classes: int, *, steps: int = 150, batch_size: int = 64, seed: int = 0) -> float:
    """Held-out v-prediction loss of a small class-conditional latent denoiser after a fixed budget of
    `steps`, on normalised latents (unit variance, so predicting zero scores 1.0). Averaged over fixed
    timesteps and noise, so families compare like for like."""
    from mdaug.models.ldm import LatentDiffusion

    torch.manual_seed(seed)
    c, h, w = train.shape[1:]
    width = (16, 32) if min(h, w) >= 2 else (16,)
    model = LatentDiffusion(latent_channels=c, grid=(h, w), num_classes=n_classes, block_out_channels=width,
                            attention=(False,) * len(width), norm_num_groups=8, cond_drop_prob=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(train), (batch_size,), generator=g)
        loss, _ = model.training_loss(train[idx], train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    sched = model._train_scheduler
    losses = []
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for t_val in (100, 300, 500, 700, 900):
            t = torch.full((len(test),), min(t_val, model.config.num_train_timesteps - 1), dtype=torch.long)
            noise = torch.randn(test.shape, generator=g)
            target = sched.get_velocity(test, noise, t) if model.config.prediction_type == "v_prediction" else noise
            pred = model(sched.add_noise(test, noise, t), t, test_y)
            losses.append(F.mse_loss(pred, target).item())
    return float(np.mean(losses))


def fidelity(x: np.ndarray, x_hat: np.ndarray, reference: np.ndarray) -> Fidelity:
    """x (n, c, doppler, time): held-out spectrograms; x_hat: their reconstructions; reference: the spectrograms
    stage 1 trained on. Compares the reconstruction error with the distance from each spectrogram to its nearest
    reference in pixel space (the largest PSNR any other recording reaches): a data-relative scale for PSNR, so the
    verdict needs no per-dataset threshold."""
    xt = torch.from_numpy(np.array(x, dtype=np.float32))
    recon = float(psnr_db(xt, torch.from_numpy(np.array(x_hat, dtype=np.float32)).clamp(-1, 1)).mean())
    ref = np.asarray(reference, dtype=np.float32)
    _, idx = nearest_neighbours(xt.flatten(1).numpy(), ref.reshape(len(ref), -1), 1)
    nearest = torch.from_numpy(ref[idx[:, 0]])
    other = float(psnr_db(xt, nearest).mean())
    return Fidelity(reconstruction_psnr_db=recon, nearest_recording_psnr_db=other, margin_db=recon - other)


# ---------------------------------------------------------------------------------------------- verdicts


def _verdict(problem: str, value: float, threshold: float, higher_is_ok: bool, message: str, fix: str = "") -> Verdict:
    ok = value >= threshold if higher_is_ok else value <= threshold
    return Verdict(problem=problem, ok=ok, value=value, threshold=threshold,
                   message=message + ("" if ok or not fix else f": {fix}"))


def _variance_verdict(m: DiagnoseMeasures, th: DiagnoseThresholds) -> Verdict:
    """A posterior std near 0 is harmful only with pointer-like latents. Latent diffusion's own KL autoencoders
    run with a KL weight of ~1e-6 and near-deterministic encoders; what breaks generation is a latent that is no
    longer smooth (interpolation roughness) or no longer learnable by a denoiser (diffusability). So a std below
    the threshold is a collapse when either of those fails too, or when neither was measured."""
    v, t = m.latent.posterior_std_min, th.posterior_std_min
    rough = m.roughness.same_class if m.roughness else None
    diff = m.diffusability_loss
    measured = rough is not None or diff is not None
    pointer = (rough is not None and rough > th.roughness_ratio) or (diff is not None and diff > th.diffusability_loss)
    if v >= t or not measured or pointer:
        return _verdict("variance collapse", v, t, True,
                        f"smallest mean posterior std per channel is {v:.3g} (collapsed below {t:g}"
                        + (" with pointer-like latents)" if measured else ")"),
                        "the encoder has become deterministic and its latents are unbounded pointers; "
                        "raise ae.kl_weight")
    return Verdict(problem="variance collapse", ok=True, value=v, threshold=t,
                   message=f"the encoder is near-deterministic (smallest posterior std {v:.3g}, below {t:g}) as in "
                           "latent diffusion's KL autoencoders, but its latents stay smooth and diffusable: not a "
                           "collapse")


def verdicts(m: DiagnoseMeasures, thresholds: DiagnoseThresholds = THRESHOLDS) -> list[Verdict]:
    """A verdict per problem that the measurements can show, in words a user understands."""
    th, out = thresholds, []
    lat = m.latent
    if m.fidelity is not None:
        f, t = m.fidelity, th.fidelity_margin_db
        out.append(_verdict("detail", f.margin_db, t, True,
                            f"held-out spectrograms are reconstructed at {f.reconstruction_psnr_db:.1f} dB PSNR, "
                            f"{f.margin_db:+.1f} dB against their nearest other recording "
                            f"({f.nearest_recording_psnr_db:.1f} dB; recordings blur into each other below {t:+g} dB, "
                            "and stage 2 cannot generate what stage 1 cannot decode)",
                            "train stage 1 longer or start from the pretrained model (ae.init=pretrained)"))
    if lat.codes:
        v, t = lat.perplexity, th.code_perplexity
        out.append(_verdict("codebook collapse", v, t, True,
                            f"the codes in use are worth {v:.1f} equally used codes (perplexity; collapse below "
                            f"{t:g}), {lat.codebook_usage_pct:.1f}% of the book",
                            "a stage 2 over so few codes can only draw coarse spectrograms: a larger book or more "
                            "fsq levels, ae.kmeans_init and ae.dead_code_threshold"))
        if m.learned_codebook is not False:
            dead, t = 100 * lat.dead_codes / max(m.codebook_size or 1, 1), th.dead_code_pct
            out.append(_verdict("dead codes", dead, t, False,
                                f"{dead:.1f}% of the codes are never used (too many above {t:.0f}%)",
                                "turn on ae.kmeans_init, ae.dead_code_threshold and ae.cosine_codes, "
                                "or shrink ae.codebook_size"))
    if lat.posterior:
        out.append(_variance_verdict(m, th))
        a, t = lat.active_units_pct, th.active_units_pct
        out.append(_verdict("posterior collapse", a, t, True,
                            f"{a:.0f}% of latent units carry information (collapse below {t:.0f}%)",
                            "lower ae.kl_weight or the latent channels"))
    if lat.latent_snr_min is not None:
        v, t = lat.latent_snr_min, th.latent_snr
        out.append(_verdict("noise-dominated latent", v, t, True,
                            f"in the noisiest channel the posterior means vary {v:.3g}x as much as one draw's noise "
                            f"(noise-dominated below {t:g})",
                            "the latent carries little of each spectrogram: lower ae.kl_weight, train stage 1 longer, "
                            "or start from the pretrained model (ae.init=pretrained)"))
    if m.knn_agreement is not None:
        lat_knn, pix_knn, t = m.knn_agreement, m.knn_agreement_pixels, th.knn_ratio
        r = lat_knn / max(pix_knn, 1e-9)
        out.append(_verdict("neighbourhoods", r, t, True,
                            f"{100 * lat_knn:.0f}% of latent nearest neighbours share the class, against "
                            f"{100 * pix_knn:.0f}% in pixel space (ratio {r:.2f}, lost below {t})"))
    if m.linear_probe is not None:
        lat_p, pix_p, t = m.linear_probe, m.linear_probe_pixels, th.probe_ratio
        r = lat_p / max(pix_p, 1e-9)
        out.append(_verdict("class information", r, t, True,
                            f"a linear classifier reads the class from latents at {100 * lat_p:.0f}% test accuracy, "
                            f"from pixels at {100 * pix_p:.0f}% (ratio {r:.2f}, lost below {t})"))
    if m.roughness is not None:
        # a cross-fade between two spectrograms is a straight line in pixel space: roughness exactly 1
        v, t = m.roughness.same_class, th.roughness_ratio
        out.append(_verdict("smoothness", v, t, False,
                            f"decoding a straight line between two latents of one class travels {v:.2f}x the direct "
                            f"distance (a cross-fade in pixels: 1.00; pointer-like above {t})"))
    if m.diffusability_loss is not None:
        v, t = m.diffusability_loss, th.diffusability_loss
        out.append(_verdict("diffusability", v, t, False,
                            f"a small latent denoiser reaches a held-out loss of {v:.3f} after "
                            f"{'?' if m.diffusability_steps is None else m.diffusability_steps} steps (1 = learned "
                            f"nothing; hard above {t}; below it a lower loss is no better, since a latent that "
                            "carries more is harder to denoise)"))
    return out


# ---------------------------------------------------------------------------------------------- the command


def _encode_all(pre: PretrainedAutoencoder, data: RunData):
    """Latents (posterior means for kl), log-variances and the health statistics of every sample. The training
    split comes from (or goes to) the stage-1 run's latent cache, which stage 2 then reads instead of encoding
    it again; the other rows are encoded here."""
    model, ds = pre.model, data.dataset
    train = cached_latents(pre, data, "train")
    rest = np.setdiff1d(np.arange(len(ds)), train.rows.numpy())
    other = encode_rows(pre, ds.x[rest], ds.labels[rest], rest)
    order = torch.argsort(torch.cat([train.rows, other.rows]))
    join = lambda a, b: None if a is None else torch.cat([a, b])[order]  # noqa: E731
    enc = LatentSet(latents=join(train.latents, other.latents), labels=torch.from_numpy(ds.labels.astype(np.int64)),
                    rows=torch.arange(len(ds)), logvar=join(train.logvar, other.logvar),
                    indices=join(train.indices, other.indices))
    f = model.downsampling
    health = HealthAccumulator(model, len(pre.class_names), (ds.x.shape[2] // f, ds.x.shape[3] // f))
    health.update(Encoded(latents=enc.latents, indices=enc.indices, mean=enc.latents, logvar=enc.logvar), enc.labels)
    return enc.latents, enc.logvar, health


def diagnose(run: str | Path, *, knn_k: int = 10, probe_steps: int = 100, diffusability_steps: int = 150,
             pairs: int = 16, out: Path | None = None, seed: int = 0) -> DiagnoseReport:
    """Every measurement over the whole dataset of the stage-1 run, verdicts, a JSON and a figure (never
    overwriting earlier ones). Returns the report."""
    pre = load_pretrained_autoencoder(run)
    data = stage1_data(pre)
    ds = data.dataset
    n_classes = len(ds.class_names)
    if len(data.indices("test")) == 0:
        raise MdaugError(f"the data of {run} has no test split; the probes need held-out samples")
    latents, logvar, health = _encode_all(pre, data)
    train, test = data.indices("train"), data.indices("test")
    pixels = ds.x.reshape(len(ds), -1)
    stats = latent_stats(latents[train], None if logvar is None else logvar[train])
    y = torch.from_numpy(ds.labels)
    measures = DiagnoseMeasures(
        latent=health.stats(), codebook_size=health.codebook_size if health.kind == "codes" else None,
        learned_codebook=pre.family in LEARNED_CODEBOOKS if health.kind == "codes" else None,
        knn_agreement=knn_agreement(latents.flatten(1).numpy(), ds.labels, knn_k),
        knn_agreement_pixels=knn_agreement(pixels, ds.labels, knn_k),
        linear_probe=linear_probe(latents[train].numpy(), ds.labels[train], latents[test].numpy(), ds.labels[test],
                                  n_classes, steps=probe_steps, seed=seed),
        linear_probe_pixels=linear_probe(pixels[train], ds.labels[train], pixels[test], ds.labels[test], n_classes,
                                         steps=probe_steps, seed=seed),
        roughness=interpolation_roughness(pre, latents, ds.labels, pairs=pairs, seed=seed),
        diffusability_steps=diffusability_steps,
        diffusability_loss=diffusability(stats.normalise(latents[train]), y[train], stats.normalise(latents[test]),
                                         y[test], n_classes, steps=diffusability_steps, seed=seed),
        fidelity=fidelity(ds.x[test], reconstruct(pre.model, ds.x[test]), ds.x[train]))
    found = verdicts(measures)
    folder = Path(out) if out else Path(run) / EVAL
    folder.mkdir(parents=True, exist_ok=True)
    path = free_path(folder / "diagnose.json")
    record = DiagnoseReport(
        run=str(Path(run)), family=pre.family, samples=len(ds), latent_shape=list(latents.shape[1:]),
        class_code_hist=health.class_code_hist, knn_chance=float((np.bincount(ds.labels) / len(ds)).__pow__(2).sum()),
        **dict(measures),
        thresholds=THRESHOLDS, verdicts=found, healthy=all(v.ok for v in found),
        files=Files(json=str(path), figure=str(path.with_suffix(".png"))))
    diagnose_figure(record, path.with_suffix(".png"), ds.class_names)
    record.write(path)
    return record


def diagnose_figure(report: DiagnoseReport, path: Path, class_names: list[str]) -> Path:
    """Per-class code histograms (code families) or posterior std and KL per channel (kl), and the verdicts."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
    lat = report.latent
    if report.class_code_hist is not None:
        h = np.asarray(report.class_code_hist)
        h = h / np.maximum(h.sum(1, keepdims=True), 1)
        order = np.argsort(-h.sum(0))
        axes[0].imshow(h[:, order], aspect="auto", cmap="magma", interpolation="nearest")
        axes[0].set(xlabel="code (most used first)", ylabel="class", title="code use per class")
        axes[0].set_yticks(range(len(class_names))[:: max(1, len(class_names) // 12)])
    else:
        std, kl = lat.posterior_std_per_channel or [], lat.kl_per_channel or []
        xs = np.arange(len(std))
        # two scales: the std is a few hundredths where the KL is a few nats, so one axis would hide the std
        axes[0].bar(xs - 0.2, std, 0.4, color="#2a6fb0", label="posterior std")
        axes[0].set(xlabel="latent channel", ylabel="posterior std", title="posterior per channel")
        right = axes[0].twinx()
        right.bar(xs + 0.2, kl, 0.4, color="#d08020", label="KL")
        right.set_ylabel("KL per channel (nats)")
        handles = axes[0].get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        axes[0].legend(handles, [h.get_label() for h in handles], loc="upper right")
    axes[1].axis("off")
    lines = [("OK   " if v.ok else "BAD  ") + v.problem for v in report.verdicts]
    axes[1].text(0, 1, "\n".join(lines), va="top", family="monospace", fontsize=10)
    axes[1].set_title(f"{report.family}: {'healthy' if report.healthy else 'problems found'}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["THRESHOLDS", "Verdict", "diagnose", "diffusability", "fidelity", "interpolation_roughness", "knn_agreement",
           "linear_probe", "path_roughness", "verdicts", "codebook_stats"]
