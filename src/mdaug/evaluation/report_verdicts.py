"""Generation verdicts in the form of the latent-health ones (problem, ok, value, threshold, a sentence with the
numbers), and the physical statistics of generated and real spectrograms under plain names, in Hz and seconds
where the data has physical axes (Doppler bins and time frames where it has not).

The thresholds compare generated samples with a reference measured in the same run, not with absolute numbers:
the k-NN precision of real training spectrograms against the real test split is itself below 1 (at the calibrated
neighbourhood, at least 0.5; at k=3 near 0.1 on the gait benchmark), and no generated sample can carry more of a
class than stage 1 reconstructs."""

from __future__ import annotations

from dataclasses import dataclass

from mdaug.evaluation.figures import SpectrogramAxes
from mdaug.evaluation.record_parts import PhysicalStat
from mdaug.evaluation.records import GenerationReport, Verdict


@dataclass(frozen=True)
class GenerationThresholds:
    precision_share: float = 0.5
    """Precision: at least this share of the real training samples' value."""
    recall_share: float = 0.5
    """Recall: at least this share of the real training samples' value."""
    identity_share: float = 0.8
    """Identity: at least this share of the stage-1 ceiling."""
    period_error: float = 0.10
    """Gait period: within this relative difference of the real one."""
    near_copies: float = 0.05
    """Near-copies: at most this share of the samples."""


THRESHOLDS = GenerationThresholds()


@dataclass(frozen=True)
class Units:
    """How a physical statistic in Doppler rows and time columns reads in the data's units."""

    axes: SpectrogramAxes
    rows: int
    cols: int

    @property
    def physical(self) -> bool:
        return self.axes.physical and self.rows > 0 and self.cols > 0

    @property
    def hz_per_row(self) -> float:
        return (self.axes.doppler_hz[1] - self.axes.doppler_hz[0]) / self.rows if self.physical else 1.0

    @property
    def s_per_col(self) -> float:
        return (self.axes.time_s[1] - self.axes.time_s[0]) / self.cols if self.physical else 1.0

    def doppler(self, rows: float, position: bool = False) -> float:
        """A Doppler width (or, with `position`, a row's centre) in Hz, or in rows without physical axes."""
        if not self.physical:
            return rows
        return self.axes.doppler_hz[0] + (rows + 0.5) * self.hz_per_row if position else rows * self.hz_per_row

    @property
    def doppler_unit(self) -> str:
        return "Hz" if self.physical else "Doppler bins"

    @property
    def time_unit(self) -> str:
        return "s" if self.physical else "frames"


PHYSICAL = {  # key: (plain name, kind: 'width' in Doppler, 'position' in Doppler, or 'time')
    "bandwidth_max": ("max bandwidth", "width"),
    "bandwidth_mean": ("mean bandwidth", "width"),
    "upper_peak": ("highest Doppler reached", "position"),
    "lower_peak": ("lowest Doppler reached", "position"),
    "torso_mean": ("torso Doppler (body speed)", "position"),
    "torso_std": ("torso Doppler spread over time", "width"),
    "period": ("gait period", "time"),
}
"""The statistics of mdaug.evaluation.metrics.envelope_statistics, named plainly."""


def _num(x: float, sign: str = "") -> str:
    """Three significant digits, never in exponent notation: 2081, 40.4, 0.729."""
    if x != x:
        return "-"
    return f"{x:{sign}.0f}" if abs(x) >= 100 else f"{x:{sign}.3g}" if abs(x) >= 0.01 else f"{x:{sign}.2g}"


def physical_rows(physical: dict[str, PhysicalStat], units: Units) -> list[list[object]]:
    """[plain name (unit), real mean ± std, generated mean ± std, difference, Wasserstein distance, real median,
    generated median, their difference] per statistic: the gait period's verdict is on medians, shown beside the
    means it would otherwise contradict."""
    rows = []
    for key, stat in physical.items():
        name, kind = PHYSICAL.get(key, (key.replace("_", " "), "width"))
        unit = units.time_unit if kind == "time" else units.doppler_unit

        def scale(x: float, pos: bool = False, kind: str = kind) -> float:
            return x * units.s_per_col if kind == "time" else units.doppler(x, position=pos and kind == "position")

        rm, fm, rmed, fmed = stat.real_mean, stat.fake_mean, stat.real_median, stat.fake_median
        rows.append([f"{name} ({unit})", f"{_num(scale(rm, True))} ± {_num(scale(stat.real_std))}",
                     f"{_num(scale(fm, True))} ± {_num(scale(stat.fake_std))}",
                     _num(scale(fm - rm), "+"), _num(scale(stat.wasserstein)),
                     _num(scale(rmed, True)), _num(scale(fmed, True)), _num(scale(fmed - rmed), "+")])
    return rows


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _share_verdict(problem: str, value: float, ref: float, share: float, what: str, bad: str) -> Verdict:
    ok = value >= share * ref
    return Verdict(problem=problem, ok=ok, value=value, threshold=share * ref,
                   message=f"{what} {value:.3f} against {ref:.3f} for real training spectrograms (threshold "
                           f"{share * ref:.3f}, {share:.0%} of it): " + ("fine" if ok else bad))


def generation_verdicts(report: GenerationReport, units: Units) -> list[Verdict]:
    g, t = report, THRESHOLDS
    out = [_share_verdict("samples off the real data", g.precision, g.floor.precision, t.precision_share,
                          "precision",
                          "few generated samples lie among the real ones (in the recogniser's feature space)"
                          if g.precision > 0 else "no generated sample lies among the real ones"),
           _share_verdict("missing variety", g.recall, g.floor.recall, t.recall_share, "recall",
                          "the samples cover only part of the variety of the real test data")]
    ceiling = g.stage1_ceiling.identity_accuracy
    ref, ref_name = (ceiling, "stage-1 reconstructions (the ceiling)") if ceiling else (
        g.recognizer_test_accuracy or 0.0, "real test spectrograms")
    chance = 1 / max(len(g.identity.per_class_accuracy), 1)
    ok = g.identity.accuracy >= t.identity_share * ref
    out.append(Verdict(problem="class identity lost", ok=ok, value=g.identity.accuracy,
                       threshold=t.identity_share * ref,
                       message=f"generated samples recognised as their class {_pct(g.identity.accuracy)}, against "
                               f"{_pct(ref)} for {ref_name} (threshold {_pct(t.identity_share * ref)}; real test "
                               f"{_pct(g.recognizer_test_accuracy or float('nan'))}, chance {_pct(chance)})"))
    period = g.physical.get("period")
    # medians: the estimates are bimodal (step, stride) with harmonic mis-picks that drag a mean
    if period and period.real_median > 0:
        rel = period.fake_median / period.real_median - 1
        real_p, fake_p = period.real_median * units.s_per_col, period.fake_median * units.s_per_col
        out.append(Verdict(problem="gait period", ok=abs(rel) <= t.period_error, value=rel,
                           threshold=t.period_error,
                           message=f"generated {fake_p:.3g} {units.time_unit} against real {real_p:.3g} "
                                   f"{units.time_unit} (medians, {rel:+.0%}; a difference within "
                                   f"±{t.period_error:.0%} is fine)"))
    copies = g.memorisation_pixels.all.share_below
    out.append(Verdict(problem="near-copies of training samples", ok=copies <= t.near_copies, value=copies,
                       threshold=t.near_copies,
                       message=f"{_pct(copies)} of generated samples are near-copies of a training spectrogram "
                               "(in pixels, their nearest training sample far closer than the second nearest; "
                               f"at most {_pct(t.near_copies)} is fine)"))
    return out


__all__ = ["PHYSICAL", "THRESHOLDS", "GenerationThresholds", "Units", "generation_verdicts", "physical_rows"]
