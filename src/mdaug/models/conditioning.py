"""What stage 2 is conditioned on besides the person: the conditions of a recording (speed, aspect, SNR, what the
arms do, ...; mdaug.data.conditions), each encoded on its own and summed into the denoiser's class embedding.

A condition is "unknown" through a learned vector of its own, never through a value of zero, and training drops
each condition independently (and, now and then, all of them at once), so that one network answers a request for
any subset: the person alone, the person at a speed, a speed alone.

Written by hand because diffusers' UNet2DModel takes one class index or one ready embedding per sample; this module
is that embedding, and keeps the class table's state-dict key ('unet.class_embedding.weight') so that weights of a
model without conditions load into one with them. Every encoder ends in zeros, so a model given conditions starts
exactly where the model it was loaded from stands, and learns what each condition does from there."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

FOURIER = 6
"""Sine/cosine pairs a numeric condition is expanded into before its MLP (frequencies 1..32 of its scaled value)."""
CLAMP = 4.0
"""Scaled values beyond this many spreads from the centre are clamped (a request far outside is refused before)."""


@dataclass(frozen=True)
class ConditionSpec:
    """One condition a model takes: how its values are scaled, which range it was trained on, or its categories."""

    name: str
    kind: str
    """'numeric' or 'category'."""
    center: float = 0.0
    scale: float = 1.0
    low: float = 0.0
    high: float = 0.0
    """The range of its training values (numeric): a request outside it (by more than a tenth of it) is refused."""
    values: tuple[str, ...] = field(default_factory=tuple)
    """Categories, in the order of their embeddings."""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["values"] = list(self.values)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ConditionSpec:
        return cls(**{**d, "values": tuple(d.get("values", ()))})

    def encode(self, value: object) -> float:
        """A value as the model's input: a number, or a category's index (NaN: unknown)."""
        if self.kind == "numeric":
            v = float(value)  # type: ignore[arg-type]
            return v
        s = str(value)
        return float(self.values.index(s)) if s in self.values else math.nan

    def describe(self) -> str:
        if self.kind == "numeric":
            return f"{self.name} {self.low:.3g} to {self.high:.3g}"
        return f"{self.name} {'|'.join(self.values)}"


def spec_of(name: str, values: Any) -> ConditionSpec | None:
    """The spec of a condition from its training values (float array with NaN for unknown, or an object array
    of categories with '' for unknown); None when no value is known or a number never varies."""
    import numpy as np

    v = np.asarray(values)
    if v.dtype.kind == "f":
        known = v[np.isfinite(v)]
        if not len(known) or float(known.max() - known.min()) <= 0:
            return None
        center = float(np.median(known))
        scale = float(np.quantile(known, 0.95) - np.quantile(known, 0.05)) / 2 or float(known.std()) or 1.0
        return ConditionSpec(name=name, kind="numeric", center=round(center, 6), scale=round(scale, 6),
                             low=round(float(known.min()), 6), high=round(float(known.max()), 6))
    cats = sorted({str(c) for c in v if str(c)})
    return ConditionSpec(name=name, kind="category", values=tuple(cats)) if len(cats) >= 2 else None


MAX_CATEGORIES = 16
"""A category with more values than this is a name per recording, not a condition to render."""


def encode_table(specs: list[ConditionSpec], values: dict[str, Any], n: int) -> Any:
    """(n, K) float32: every sample's conditions as the model takes them (NaN: unknown or not in `values`)."""
    import numpy as np

    out = np.full((n, len(specs)), np.nan, dtype=np.float32)
    for k, s in enumerate(specs):
        if s.name not in values:
            continue
        v = np.asarray(values[s.name])
        if s.kind == "numeric":
            out[:, k] = v.astype(np.float64)
        else:
            out[:, k] = [s.encode(c) for c in v]
    return out


def choose_specs(values: dict[str, Any], wanted: list[str], *, strict: bool) -> list[ConditionSpec]:
    """The specs of the conditions `wanted` (in that order) from their training values; `strict` (a list the user
    gave): a name the data lacks or that never varies is an error, else it is left out."""
    from mdaug.errors import MdaugError

    specs = []
    for name in wanted:
        if name not in values:
            if strict:
                raise MdaugError(f"ldm.conditions names '{name}', which the data's recordings do not have "
                                 f"(they have: {', '.join(values) or 'none'})")
            continue
        spec = spec_of(name, values[name])
        if spec is None or len(spec.values) > MAX_CATEGORIES:
            if strict:
                raise MdaugError(f"ldm.conditions names '{name}', whose training values do not vary or are a name "
                                 "per recording; leave it out")
            continue
        specs.append(spec)
    return specs


def carried(specs: list[ConditionSpec], start: list[ConditionSpec]) -> tuple[list[ConditionSpec], dict[int, int]]:
    """What a model of conditions `specs` takes from a start model of conditions `start`: the specs, each numeric one
    the start knows scaled as the start scales it (its encoder reads values as it was trained to; the range stays
    this data's), and {index here: index in the start} of the encoders carried with their weights: a numeric
    condition of the same name, or a category of the same name and values."""
    import dataclasses

    by_name = {s.name: (j, s) for j, s in enumerate(start)}
    out, carry = [], {}
    for k, spec in enumerate(specs):
        j, old = by_name.get(spec.name, (None, None))
        if old is not None and old.kind == spec.kind and old.values == spec.values:
            carry[k] = j
            if spec.kind == "numeric":
                spec = dataclasses.replace(spec, center=old.center, scale=old.scale)
        out.append(spec)
    return out, carry


MARGIN = 0.1
"""How far beyond its training range (as a share of that range) a numeric request is still taken."""


def resolve_name(specs: list[ConditionSpec], name: str) -> ConditionSpec:
    """The condition a request names: its full name, or the name without its unit (speed -> speed_mps)."""
    from mdaug.errors import MdaugError

    hits = [s for s in specs if s.name == name] or [s for s in specs if s.name.startswith(name + "_")]
    if len(hits) == 1:
        return hits[0]
    valid = "; ".join(s.describe() for s in specs) or "none: it was trained without conditions"
    what = "matches several" if hits else "is not one"
    raise MdaugError(f"condition '{name}' {what} of this model's conditions ({valid})")


def parse_request(specs: list[ConditionSpec], items: list[str] | dict[str, object]) -> dict[str, object]:
    """Requested conditions ('speed=1.6' strings, or a mapping) by their full names, each checked against what the
    model knows: a numeric value within its training range (MARGIN of it beyond), a category among its values."""
    from mdaug.errors import MdaugError

    pairs: list[tuple[str, object]] = []
    if isinstance(items, dict):
        pairs = list(items.items())
    else:
        for item in items:
            name, eq, value = str(item).partition("=")
            if not eq or not name.strip() or not value.strip():
                raise MdaugError(f"a condition is NAME=VALUE (e.g. speed=1.6), not '{item}'")
            pairs.append((name.strip(), value.strip()))
    out: dict[str, object] = {}
    for name, value in pairs:
        spec = resolve_name(specs, name)
        if spec.name in out:
            raise MdaugError(f"condition '{spec.name}' is asked for twice")
        if spec.kind == "numeric":
            try:
                v = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise MdaugError(f"condition {spec.name} takes a number, not '{value}'") from None
            pad = MARGIN * (spec.high - spec.low)
            if not math.isfinite(v) or not spec.low - pad <= v <= spec.high + pad:
                raise MdaugError(f"{spec.name}={value} is outside what this model knows ({spec.low:g} to "
                                 f"{spec.high:g}); conditions: {'; '.join(s.describe() for s in specs)}")
            out[spec.name] = v
        else:
            if str(value) not in spec.values:
                raise MdaugError(f"{spec.name}={value} is not a value this model knows (one of "
                                 f"{', '.join(spec.values)})")
            out[spec.name] = str(value)
    return out


def request_row(specs: list[ConditionSpec], request: dict[str, object]) -> Any:
    """(K,) float32 of a parsed request, NaN (unknown) for every condition it does not name."""
    import numpy as np

    return np.array([s.encode(request[s.name]) if s.name in request else np.nan for s in specs], dtype=np.float32)


class _Numeric(nn.Module):
    def __init__(self, spec: ConditionSpec, dim: int) -> None:
        super().__init__()
        self.center, self.scale = spec.center, spec.scale
        self.register_buffer("freqs", 2.0 ** torch.arange(FOURIER, dtype=torch.float32) * math.pi / 8,
                             persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * FOURIER + 1, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.unknown = nn.Parameter(torch.zeros(dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        known = torch.isfinite(v)
        z = ((torch.where(known, v, self.center) - self.center) / self.scale).clamp(-CLAMP, CLAMP)
        ang = z[:, None] * self.freqs
        e = self.mlp(torch.cat([z[:, None], ang.sin(), ang.cos()], dim=1))
        return torch.where(known[:, None], e, self.unknown.to(e.dtype).expand_as(e))


class _Category(nn.Module):
    def __init__(self, spec: ConditionSpec, dim: int) -> None:
        super().__init__()
        self.n = len(spec.values)
        self.table = nn.Embedding(self.n + 1, dim)  # the last row: unknown
        nn.init.zeros_(self.table.weight)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        idx = torch.where(torch.isfinite(v) & (v >= 0) & (v < self.n), v, torch.full_like(v, self.n))
        return self.table(idx.long())


class ConditionedEmbedding(nn.Embedding):
    """The class table of the denoiser (num_classes + 1 rows, the last 'no class') plus one encoder per condition and,
    with `person_dim`, an encoder of each class's identity features (`person_features`, a persistent buffer: the mean
    embedding of the class's training recordings by a pretrained recogniser, so that a person is known by what their
    recordings look like, not only by a row learned from them). Input: class indices (batch,), or (batch,
    1 + conditions) floats: the class index, then each condition's value as ConditionSpec.encode gives it (NaN:
    unknown)."""

    def __init__(self, num_embeddings: int, dim: int, specs: list[ConditionSpec], person_dim: int = 0) -> None:
        super().__init__(num_embeddings, dim)
        self.specs = list(specs)
        self.encoders = nn.ModuleList(_Numeric(s, dim) if s.kind == "numeric" else _Category(s, dim) for s in specs)
        self.person = None
        if person_dim:
            self.register_buffer("person_features", torch.zeros(num_embeddings, person_dim))
            self.person = nn.Sequential(nn.Linear(person_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
            nn.init.zeros_(self.person[2].weight)
            nn.init.zeros_(self.person[2].bias)

    def forward(self, packed: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        labels = packed.round().long() if packed.dim() == 1 else packed[:, 0].round().long()
        e = super().forward(labels)
        if self.person is not None:  # 'no class' has no recordings: nothing added
            known = (labels < self.num_embeddings - 1)[:, None]
            e = e + torch.where(known, self.person(self.person_features[labels].to(e.dtype)), 0.0)
        for k, enc in enumerate(self.encoders if packed.dim() == 2 else []):
            e = e + enc(packed[:, 1 + k].float()).to(e.dtype)
        return e


def drop_conditions(values: torch.Tensor, each: float, together: float) -> torch.Tensor:
    """Training only: each condition of each sample becomes unknown (NaN) with probability `each`, and all of a
    sample's conditions with probability `together` (draws from the global RNG, which checkpoints restore)."""
    if values.numel() == 0 or (each == 0 and together == 0):
        return values
    drop = torch.rand(values.shape, device=values.device) < each
    drop |= (torch.rand(values.shape[0], 1, device=values.device) < together)
    return torch.where(drop, torch.full_like(values, math.nan), values)


__all__ = ["MARGIN", "MAX_CATEGORIES", "ConditionSpec", "ConditionedEmbedding", "carried", "choose_specs",
           "drop_conditions", "encode_table", "parse_request", "request_row", "resolve_name", "spec_of"]
