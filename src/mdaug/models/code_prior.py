"""Class-conditional masked code prior: a MaskGIT-style bidirectional transformer over stage-1 code indices
(Chang et al. 2022). It learns to fill in masked codes given the visible ones and a class token, and samples
by iterative parallel decoding with a cosine schedule; classifier-free guidance (Ho & Salimans 2022) comes
from label dropout to a null class. Written with plain torch.nn (nn.TransformerEncoder, pre-norm, GELU):
no library provides a class-conditional masked prior over the codes of our own autoencoders.

vq and fsq give one code per position (levels=1); rq gives a stack of `levels` codes per position, masked
and predicted as a whole stack."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn


class CodePrior(ModelMixin, ConfigMixin):
    """Masked transformer p(codes | class). Input per position: sum of one token embedding per level (index
    codebook_size is [MASK]) plus a learned positional embedding; a class token (index num_classes is the
    null class) is prepended. Output: one linear head per level, logits over codebook_size."""

    @register_to_config
    def __init__(self, *, codebook_size: int, levels: int = 1, grid: tuple[int, int] = (16, 16), num_classes: int,
                 dim: int = 256, depth: int = 4, heads: int = 4, dropout: float = 0.1,
                 cond_drop_prob: float = 0.1) -> None:
        super().__init__()
        assert codebook_size >= 2, "codebook_size must be at least 2"
        assert levels >= 1, "levels must be positive"
        assert len(grid) == 2 and min(grid) >= 1, "grid must be two positive integers (h, w)"
        assert num_classes >= 1, "num_classes must be positive"
        assert depth >= 1 and heads >= 1 and dim % heads == 0, "dim must be a multiple of heads, depth positive"
        assert 0.0 <= dropout < 1.0, "dropout must be in [0, 1)"
        assert 0.0 <= cond_drop_prob < 1.0, "cond_drop_prob must be in [0, 1)"
        n = grid[0] * grid[1]
        self.token_embeddings = nn.ModuleList(nn.Embedding(codebook_size + 1, dim) for _ in range(levels))
        self.pos_embedding = nn.Parameter(torch.zeros(1, n, dim))
        self.class_embedding = nn.Embedding(num_classes + 1, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=4 * dim, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        # the levels at one position are predicted independently given the context: a simplification of
        # RQ-Transformer's depth-wise decoding, where each level would also condition on the ones before it
        self.output_heads = nn.ModuleList(nn.Linear(dim, codebook_size) for _ in range(levels))
        for emb in [*self.token_embeddings, self.class_embedding]:
            nn.init.trunc_normal_(emb.weight, std=0.02)
        nn.init.trunc_normal_(self.pos_embedding, std=0.02)
        for head in self.output_heads:
            nn.init.trunc_normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)

    @property
    def null_class(self) -> int:
        """The label of the unconditional (dropped) class."""
        return int(self.config.num_classes)

    @property
    def mask_token(self) -> int:
        return int(self.config.codebook_size)

    @property
    def num_positions(self) -> int:
        return int(self.config.grid[0] * self.config.grid[1])

    @staticmethod
    def mask_ratio(r: torch.Tensor) -> torch.Tensor:
        """Cosine schedule: the fraction of positions masked at time r in [0, 1] (1 at r=0, 0 at r=1)."""
        return torch.cos(0.5 * math.pi * r)

    @staticmethod
    def mask_count(ratio: torch.Tensor, n: int) -> torch.Tensor:
        """How many of n positions a training sample masks: ceil(ratio * n), at least 1 and at most n."""
        return torch.ceil(torch.as_tensor(ratio) * n).long().clamp(1, n)

    def drop_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """In training, each label becomes the null class with probability cond_drop_prob (global RNG)."""
        p = float(self.config.cond_drop_prob)
        if not self.training or p == 0.0:
            return labels
        drop = torch.rand(labels.shape, device=labels.device) < p
        return torch.where(drop, torch.full_like(labels, self.null_class), labels)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(batch, h, w) or (batch, h, w, levels) int64 tokens in [0, codebook_size] ([MASK] = codebook_size)
        and (batch,) labels in [0, num_classes] -> logits (batch, h, w, levels, codebook_size). Shapes are
        checked here, values by training_loss and sample."""
        stacks = self._stacks(tokens, check_values=False)
        b, h, w, levels = stacks.shape
        return self._logits(stacks.reshape(b, h * w, levels), labels).reshape(b, h, w, levels, -1)

    def training_loss(self, indices: torch.Tensor, labels: torch.Tensor, *, net: torch.nn.Module | None = None
                      ) -> tuple[torch.Tensor, dict[str, float]]:
        """Masked-token cross-entropy. Drops labels for guidance, draws a cosine-schedule mask ratio per
        sample and masks that many whole positions at random (global RNG, which the trainer's checkpoints
        restore); the loss is the mean over the masked positions and their levels. Logs 'ce',
        'masked_accuracy' and the realised 'mask_ratio'. `net`: this model as wrapped for distributed
        training (its forward must be the one called, so that gradients are synchronised)."""
        stacks = self._stacks(indices, check_values=True)
        b, h, w, levels = stacks.shape
        n = h * w
        labels = self.drop_labels(self._labels(labels, b, stacks.device))
        targets = stacks.reshape(b, n, levels)
        counts = self.mask_count(self.mask_ratio(torch.rand(b, device=stacks.device)), n)  # (b,)
        ranks = torch.rand(b, n, device=stacks.device).argsort(dim=1).argsort(dim=1)
        masked = ranks < counts[:, None]  # (b, n): `counts` random positions per sample
        tokens = targets.masked_fill(masked[..., None], self.mask_token).reshape(b, h, w, levels)
        logits = (net or self)(tokens, labels).reshape(b, n, levels, -1)[masked].float()  # (masked, levels, k)
        target = targets[masked]
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        accuracy = (logits.argmax(-1) == target).float().mean()
        return ce, {"ce": ce.item(), "masked_accuracy": accuracy.item(), "mask_ratio": (counts.sum() / (b * n)).item()}

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, *, steps: int = 8, guidance_scale: float = 1.0, temperature: float = 1.0,
               generator: torch.Generator | None = None, init: torch.Tensor | None = None,
               strength: float = 1.0) -> torch.Tensor:
        """MaskGIT decoding from a fully masked grid in `steps` steps: sample every masked position (with
        temperature; 0 is greedy), then re-mask the cosine-schedule number of the least confident new ones,
        confidence being the log-probability of the sampled stack plus Gumbel noise annealed from
        `temperature` to 0. Fixed positions are never re-masked. Guided logits are uncond + g * (cond -
        uncond); labels may be null_class (unconditional). All randomness comes from `generator` (on the
        model's device; None = global RNG); call eval() first, since dropout follows the train/eval mode. With
        `init` (the codes of real samples) and strength < 1, a variation of them: a random `strength` share of the
        positions is masked and decoded again under `labels`, the rest kept.
        Returns (batch, h, w) indices, or (batch, h, w, levels) for levels > 1."""
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        if not guidance_scale >= 0:
            raise ValueError(f"guidance_scale must be >= 0, got {guidance_scale}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        device = self.device
        labels = self._labels(labels, None, device)
        b, n, levels, k = labels.shape[0], self.num_positions, int(self.config.levels), int(self.config.codebook_size)
        tokens = torch.full((b, n, levels), self.mask_token, dtype=torch.long, device=device)
        known = torch.zeros(b, n, dtype=torch.bool, device=device)
        unknown = n  # masked positions, the same number in every sample
        if init is not None and strength < 1:
            unknown = max(1, round(strength * n))
            ranks = torch.rand(b, n, generator=generator, device=device).argsort(1).argsort(1)
            known = ranks >= unknown
            given = self._stacks(init.to(device), check_values=True).reshape(b, n, levels)
            tokens = torch.where(known[..., None], given, tokens)
        masked0 = unknown
        for t in range(steps):
            logits = self._guided_logits(tokens, labels, guidance_scale)  # (b, n, levels, k), fp32
            if temperature > 0:
                probs = (logits / temperature).softmax(-1).reshape(-1, k)
                sampled = torch.multinomial(probs, 1, generator=generator).reshape(b, n, levels)
            else:
                sampled = logits.argmax(-1)
            sampled = torch.where(known[..., None], tokens, sampled)
            confidence = logits.log_softmax(-1).gather(-1, sampled[..., None]).squeeze(-1).sum(-1)  # (b, n)
            noise_scale = temperature * (1.0 - t / steps)
            if noise_scale > 0:
                u = torch.rand(b, n, generator=generator, device=device).clamp_(min=1e-20)
                confidence = confidence + noise_scale * -torch.log(-torch.log(u))
            confidence = confidence.masked_fill(known, math.inf)
            keep_masked = 0
            if t < steps - 1:  # at least one new position fixed per step while any is left; one kept for the end
                keep_masked = max(1, min(unknown - 1, math.floor(masked0 * math.cos(0.5 * math.pi * (t + 1) / steps))))
            tokens, unknown = sampled, keep_masked
            known = torch.ones_like(known)
            if keep_masked > 0:
                remask = confidence.topk(keep_masked, dim=1, largest=False).indices
                known.scatter_(1, remask, False)
                tokens = tokens.masked_fill(~known[..., None], self.mask_token)
        out = tokens.reshape(b, *self.config.grid, levels)
        return out.squeeze(-1) if levels == 1 else out

    def _guided_logits(self, tokens: torch.Tensor, labels: torch.Tensor, guidance_scale: float) -> torch.Tensor:
        if guidance_scale == 1.0:
            return self._logits(tokens, labels).float()
        null = torch.full_like(labels, self.null_class)
        if guidance_scale == 0.0:
            return self._logits(tokens, null).float()
        cond, uncond = self._logits(tokens.repeat(2, 1, 1), torch.cat([labels, null])).float().chunk(2)
        return uncond + guidance_scale * (cond - uncond)

    def _logits(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(b, n, levels) tokens and (b,) labels -> (b, n, levels, codebook_size)."""
        x = sum(emb(tokens[..., i]) for i, emb in enumerate(self.token_embeddings)) + self.pos_embedding
        x = torch.cat([self.class_embedding(labels)[:, None], x], dim=1)
        x = self.norm(self.transformer(x))[:, 1:]
        return torch.stack([head(x) for head in self.output_heads], dim=2)

    def _stacks(self, indices: torch.Tensor, *, check_values: bool) -> torch.Tensor:
        """Checked (batch, h, w, levels) int64 view of (batch, h, w) or (batch, h, w, levels) indices."""
        levels, grid = int(self.config.levels), tuple(self.config.grid)
        if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
            raise ValueError(f"code indices must be integers, got {indices.dtype}")
        if indices.dim() == 3 and levels == 1:
            indices = indices[..., None]
        if indices.dim() != 4 or tuple(indices.shape[1:3]) != grid or indices.shape[3] != levels:
            want = f"(batch, {grid[0]}, {grid[1]}, {levels})"
            if levels == 1:
                want = f"(batch, {grid[0]}, {grid[1]}) or {want}"
            raise ValueError(f"code indices of shape {tuple(indices.shape)} do not fit this prior: expected {want}")
        high = self.mask_token
        if check_values and indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= high):
            raise ValueError(f"code indices must lie in [0, {high}), got values in "
                             f"[{int(indices.min())}, {int(indices.max())}]")
        return indices.long()

    def _labels(self, labels: torch.Tensor, batch: int | None, device: torch.device) -> torch.Tensor:
        labels = torch.as_tensor(labels, device=device)
        if labels.dim() != 1 or (batch is not None and labels.shape[0] != batch):
            raise ValueError(f"labels must have shape ({batch if batch is not None else 'batch'},), "
                             f"got {tuple(labels.shape)}")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integers, got {labels.dtype}")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > self.null_class):
            raise ValueError(f"labels must lie in [0, {self.null_class}] ({self.null_class} = null), got values in "
                             f"[{int(labels.min())}, {int(labels.max())}]")
        return labels.long()
