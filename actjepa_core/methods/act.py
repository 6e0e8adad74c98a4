"""ACT: Action Chunking with Transformers, state-observation variant sized for a CPU.

Zhao, Kumar, Levine, Finn (2023), "Learning Fine-Grained Bimanual Manipulation with
Low-Cost Hardware", arXiv 2304.13705. What is taken from the paper, and where:

- Action chunking (Sec. IV-A): one query predicts the next ``k`` actions ``a_{t:t+k}``;
  at test time the policy is queried every step and the overlapping chunks are averaged
  with weights ``w_i = exp(-m * i)``, ``w_0`` the oldest prediction (temporal ensembling,
  Sec. IV-A). The averaging itself lives in the rollout wrapper; this config only carries
  ``temporal_ensemble_m`` and ``execution = "ensemble"``.
- The policy is a conditional VAE (Sec. IV-B; architecture in Sec. IV-C and Fig. 4): a
  CVAE encoder (a BERT-like transformer encoder over ``[CLS], o_t, a_{t:t+k}`` with fixed
  sinusoidal positions) gives the mean and log-variance of a style variable ``z``; the
  CVAE decoder, which *is* the
  policy, encodes ``[z, o_t]`` with a transformer encoder and decodes the chunk with a
  transformer decoder whose queries are ``k`` learned embeddings, followed by a linear
  head to the action width. The encoder is discarded at test time, where ``z = 0`` (the
  prior mean).
- Loss (Sec. IV-B): L1 reconstruction of the chunk, masked where the chunk runs past the
  episode's end (ACT's ``is_pad``), plus ``beta * KL(q(z | o, a) || N(0, I))``; the paper
  calls the weight beta, we call it ``kl_weight`` (paper: 10).
- DETR-style post-norm layers (ACT builds on DETR's transformer; ``norm_first=False``),
  ReLU feed-forward, Xavier-uniform initialisation of the transformer matrices as DETR does,
  a final LayerNorm after the decoder stack as DETR/ACT.

Our deviations (each is also stated where the field or code lives):

- Observations are the flat Fetch state vector (no cameras, no ResNet backbone): the
  observation token of the policy is ``encoder(o_t)``, an ``MLPEncoder`` (ours; ACT projects
  its joint state with one linear layer). ACT and ACT-JEPA share it exactly, and the book
  probes it and puts a frozen BC head on it.
- Positional embeddings are added once to the layer inputs (torch's stock layers) instead
  of to the queries and keys of every attention layer as in DETR; the decoder's input is
  the learned query embedding itself (DETR starts from zeros plus the query positions).
- The L1 is averaged over the non-padded entries (ACT's code zeroes the padded ones but
  averages over all), so the loss scale does not depend on how much of a batch is padding.
- The last CVAE-encoder layer computes only the [CLS] output (``cls_readout``): same
  result, less work.
- Sizes are small enough for a CPU (see the config's docstrings: "paper: ..., ours: ...").
  The paper's optimiser settings (AdamW, lr 1e-5, batch 8) are not used: the shared
  training loop applies ``PolicyConfig``'s lr, batch size and schedule to every method.
- Actions are not normalised: the Fetch actions already live in [-1, 1]; observations
  arrive standardised from the data pipeline.
- Reproducibility: the training forward's noise (dropout, CVAE sampling) comes from the
  model's own generator seeded with ``cfg.seed`` (``own_noise``), not from the caller's
  global RNG, and its state is saved with the weights.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models import MLPEncoder
from ..training import positive_int
from .base import PolicyConfig


@dataclass(kw_only=True)
class ACTConfig(PolicyConfig):
    """ACT's fields (Zhao et al. 2023, Sec. IV and the hyperparameter table of the appendix);
    every size that differs from the paper says so."""

    name: ClassVar[str] = "act"

    chunk: int = 10
    """k, actions per query. Paper: 100 at 50 Hz (2 s); ours: 10 at 25 Hz (0.4 s) because
    Fetch episodes are only 50 steps."""
    execution: str = "ensemble"
    """ACT executes by temporal ensembling (Sec. IV-A): query every step, average the chunks."""
    temporal_ensemble_m: float = 0.01
    """m of the ensembling weights w_i = exp(-m * i), w_0 the oldest prediction (paper: 0.01)."""
    kl_weight: float = 10.0
    """beta, weight of KL(q(z|o,a) || N(0,I)) added to the L1 loss (paper: 10)."""
    d_model: int = 64
    """Transformer width, also the width D of ``encoder``. Paper: 512; ours: 64 to keep a
    training step at batch 256 cheap on one CPU thread (128 measured ~2x slower)."""
    n_heads: int = 4
    """Attention heads. Paper: 8; ours: 4 (16 dims per head)."""
    n_encoder_layers: int = 2
    """Layers of the policy's transformer encoder over [z, o_t]. Paper: 4; ours: 2 (2 tokens)."""
    n_decoder_layers: int = 1
    """Layers of the policy's transformer decoder. Paper: 7, but ACT's released code only uses
    the first (tonyzhaozh/act issue 25; LeRobot sets 1 for that reason); ours: 1, as run."""
    n_vae_layers: int = 1
    """Layers of the CVAE encoder (training only). Paper: 4; ours: 1 (CPU budget)."""
    dim_feedforward: int = 256
    """Feed-forward width of every layer. Paper: 3200 (6.25 x 512); ours: 256 (4 x d_model)."""
    latent_dim: int = 32
    """Width of the style variable z (32 in ACT's released code)."""
    dropout: float = 0.1
    """Dropout of the transformer layers (paper: 0.1)."""
    encoder_hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of the MLP observation encoder (ours; () gives ACT's single linear layer)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.encoder_hidden = tuple(self.encoder_hidden)
        for name in ("d_model", "n_heads", "n_encoder_layers", "n_decoder_layers",
                     "n_vae_layers", "dim_feedforward", "latent_dim"):
            positive_int(self, name)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads="
                             f"{self.n_heads}; change one of them (e.g. d_model=128, n_heads=4)")
        if not (math.isfinite(self.kl_weight) and self.kl_weight >= 0):
            raise ValueError(f"kl_weight must be a finite number >= 0 (paper: 10), "
                             f"got {self.kl_weight}")
        if not (math.isfinite(self.temporal_ensemble_m) and self.temporal_ensemble_m >= 0):
            raise ValueError(f"temporal_ensemble_m must be a finite number >= 0 (paper: 0.01), "
                             f"got {self.temporal_ensemble_m}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1) (paper: 0.1), got {self.dropout}")
        if any(not isinstance(w, int) or isinstance(w, bool) or w <= 0
               for w in self.encoder_hidden):
            raise ValueError(f"encoder_hidden must hold positive integer widths (or be empty "
                             f"for a linear encoder), got {self.encoder_hidden!r}")


# ---------------------------------------------------------------------------- helpers
def sinusoid_table(n_positions: int, dim: int) -> Tensor:
    """Fixed sinusoidal positions (Vaswani et al. 2017), (n_positions, dim): ACT's CVAE
    encoder uses such a table for its [CLS, o_t, a_1..a_k] inputs."""
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    i = torch.arange(dim, dtype=torch.float64)[None]
    angle = pos / torch.pow(10000.0, 2 * (i // 2) / dim)
    table = torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.to(torch.float32)


def encoder_layer(cfg: ACTConfig) -> nn.TransformerEncoderLayer:
    """Post-norm (DETR/ACT) ReLU encoder layer, batch first."""
    return nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.dim_feedforward,
                                      cfg.dropout, activation="relu", batch_first=True,
                                      norm_first=False)


def decoder_stack(d_model: int, n_heads: int, n_layers: int, d_ff: int, dropout: float
                  ) -> nn.TransformerDecoder:
    """Post-norm ReLU decoder layers, batch first, with DETR's final LayerNorm."""
    layer = nn.TransformerDecoderLayer(d_model, n_heads, d_ff, dropout, activation="relu",
                                       batch_first=True, norm_first=False)
    return nn.TransformerDecoder(layer, n_layers, norm=nn.LayerNorm(d_model))


def xavier_(*modules: nn.Module) -> None:
    """DETR's ``Transformer._reset_parameters``: Xavier-uniform on every matrix."""
    for m in modules:
        for p in m.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)


def cls_readout(layer: nn.TransformerEncoderLayer, x: Tensor, key_padding_mask: Tensor
                ) -> Tensor:
    """The first token's output of a post-norm encoder layer, computing nothing else.

    Only the [CLS] output feeds mu and log-variance, so in the last CVAE-encoder layer the
    other tokens serve only as keys and values: their attention outputs and feed-forward
    passes are skipped. Same parameters and same result as ``layer(x)[:, :1]`` (post-norm),
    at a fraction of the cost.
    """
    q = x[:, :1]
    attn = layer.self_attn(q, x, x, key_padding_mask=key_padding_mask, need_weights=False)[0]
    h = layer.norm1(q + layer.dropout1(attn))
    ff = layer.linear2(layer.dropout(layer.activation(layer.linear1(h))))
    return layer.norm2(h + layer.dropout2(ff))


def masked_mean(values: Tensor, pad: Tensor) -> Tensor:
    """Mean of ``values`` (B, T) over the entries where ``pad`` (B, T) is 0.

    Padded entries get weight 0, so whatever sits there (the repeated last action) cannot
    change the loss or its gradient; the clamp keeps an all-padded batch at 0, not NaN.
    """
    keep = 1.0 - pad
    return (values * keep).sum() / keep.sum().clamp_min(1.0)


def check_obs_history(cfg: PolicyConfig, obs: Tensor) -> None:
    """Shapes only (no host sync): ``obs`` must be (B, To, O) for the config's width O."""
    if obs.dim() != 3 or obs.shape[-1] != cfg.obs_dim:
        raise ValueError(f"obs must have shape (B, To, {cfg.obs_dim}), got "
                         f"{tuple(obs.shape)}: wrong observation width or missing To axis")


def check_action_chunk(cfg: PolicyConfig, actions: Tensor, pad: Tensor) -> None:
    """Shapes only: ``actions`` (B, k, A) and ``pad`` (B, k) for the config's chunk k."""
    k, A = cfg.chunk, cfg.action_dim
    if actions.shape[1:] != (k, A) or pad.shape != actions.shape[:2]:
        raise ValueError(f"actions must be (B, {k}, {A}) and action_pad (B, {k}), got "
                         f"{tuple(actions.shape)} and {tuple(pad.shape)}: check the chunk")


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the latent dims, mean over the batch
    (as ACT's ``kl_divergence``)."""
    return (-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())).sum(-1).mean()


@contextlib.contextmanager
def own_noise(gen: torch.Generator, device: torch.device) -> Iterator[None]:
    """Run a training forward on a model's own random stream, then restore the caller's.

    Dropout and ``randn_like`` draw from torch's global generator (of ``device``); it is
    reseeded here with a seed drawn from ``gen`` (the model's, seeded from its config) and
    restored on exit, so the forward's noise depends on the config's seed and the step only.
    The backward pass reuses the saved dropout masks and draws nothing.
    """
    seed = int(torch.randint(0, 2**62, (), generator=gen))
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed(seed)  # the current device, the one forked
        yield


# ---------------------------------------------------------------------------- model
class ACTPolicy(nn.Module):
    """ACT's CVAE: ``forward`` trains it (posterior z), ``predict_chunk`` acts (z = 0).

    Modules are created in a fixed order (observation encoder, CVAE encoder, policy) so
    that a subclass that appends modules after ``super().__init__`` starts from exactly
    the same weights for the same seed.
    """

    def __init__(self, cfg: ACTConfig):
        super().__init__()
        self.cfg = cfg
        d, O, A, k = cfg.d_model, cfg.obs_dim, cfg.action_dim, cfg.chunk
        # observation encoder: o_t (B, O) -> observation token (B, d); ours, an MLP
        self.encoder = MLPEncoder(O, out_dim=d, hidden=cfg.encoder_hidden)
        # CVAE encoder q(z | o_t, a_{t:t+k}) (Sec. IV-B), used in training only
        self.cls_embed = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.normal_(self.cls_embed)
        self.vae_obs_proj = nn.Linear(O, d)  # ACT gives the CVAE encoder its own projection
        self.vae_action_proj = nn.Linear(A, d)
        self.register_buffer("vae_pos", sinusoid_table(2 + k, d)[None], persistent=False)
        self.vae_layers = nn.ModuleList(encoder_layer(cfg) for _ in range(cfg.n_vae_layers))
        self.latent_proj = nn.Linear(d, 2 * cfg.latent_dim)  # -> [mu, logvar]
        # policy p(a_{t:t+k} | o_t, z): encoder over [z, o_t], decoder with k learned queries
        self.latent_in = nn.Linear(cfg.latent_dim, d)
        self.memory_pos = nn.Parameter(torch.zeros(1, 2, d))
        nn.init.normal_(self.memory_pos)
        self.context_encoder = nn.TransformerEncoder(encoder_layer(cfg), cfg.n_encoder_layers,
                                                     enable_nested_tensor=False)
        self.queries = nn.Parameter(torch.zeros(1, k, d))
        nn.init.normal_(self.queries)
        self.decoder = decoder_stack(d, cfg.n_heads, cfg.n_decoder_layers, cfg.dim_feedforward,
                                     cfg.dropout)
        self.action_head = nn.Linear(d, A)
        xavier_(self.vae_layers, self.context_encoder, self.decoder)
        # the model's own noise (CVAE sampling, dropout) comes from cfg.seed, not from
        # whatever state the global RNG is in (the shared loop seeds only the sampler);
        # seed + 1 keeps it apart from the batch sampler's stream (seeded with cfg.seed)
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 1)

    # -- pieces ------------------------------------------------------------------------
    def own_noise(self, device: torch.device) -> contextlib.AbstractContextManager[None]:
        """Run a training forward on the model's own random stream (``own_noise``)."""
        return own_noise(self.noise_gen, device)

    def check_obs(self, obs: Tensor) -> None:
        """Shapes only (no host sync): ``obs`` must be (B, To, O)."""
        check_obs_history(self.cfg, obs)

    def posterior(self, o_t: Tensor, actions: Tensor, action_pad: Tensor
                  ) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z | o_t, a_{t:t+k}), each (B, latent_dim).

        Padded actions are masked out of the attention (ACT's ``is_pad`` key mask).
        """
        B = o_t.shape[0]
        tokens = torch.cat([self.cls_embed.expand(B, -1, -1), self.vae_obs_proj(o_t)[:, None],
                            self.vae_action_proj(actions)], dim=1) + self.vae_pos
        keep_first = torch.zeros(B, 2, dtype=torch.bool, device=o_t.device)
        mask = torch.cat([keep_first, action_pad > 0.5], dim=1)
        for layer in self.vae_layers[:-1]:
            tokens = layer(tokens, src_key_padding_mask=mask)
        cls = cls_readout(self.vae_layers[-1], tokens, mask)[:, 0]
        mu, logvar = self.latent_proj(cls).chunk(2, dim=-1)
        return mu, logvar

    def context(self, o_t: Tensor, z: Tensor) -> Tensor:
        """Memory of the policy: the transformer encoder over [z token, observation token],
        (B, 2, d). The observation token is ``self.encoder(o_t)``."""
        tokens = torch.stack([self.latent_in(z), self.encoder(o_t)], dim=1) + self.memory_pos
        return self.context_encoder(tokens)

    def decode(self, memory: Tensor) -> Tensor:
        """Action chunk (B, k, A) from the memory: k learned queries through the decoder."""
        tgt = self.queries.expand(memory.shape[0], -1, -1)
        return self.action_head(self.decoder(tgt, memory))

    def act_terms(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """ACT's loss, its logs and the policy memory (B, 2, d) of one batch.

        Random draws (global RNG; ``forward`` seeds it from ``noise_gen``), in this order:
        dropout of the CVAE encoder, the reparameterisation noise, dropout of the policy. A
        subclass adding terms after this call leaves ACT's draws untouched.
        """
        obs, actions, pad = batch["obs"], batch["actions"], batch["action_pad"]
        self.check_obs(obs)
        check_action_chunk(self.cfg, actions, pad)
        o_t = obs[:, -1]
        mu, logvar = self.posterior(o_t, actions, pad)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        memory = self.context(o_t, z)
        a_hat = self.decode(memory)
        l1 = masked_mean(F.l1_loss(a_hat, actions, reduction="none").mean(-1), pad)
        kl = gaussian_kl(mu, logvar)
        loss = l1 + self.cfg.kl_weight * kl
        logs = {"loss": loss.detach(), "l1": l1.detach(), "kl": kl.detach()}
        return loss, logs, memory

    # -- the interface of methods.base ---------------------------------------------------
    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """L1 on the chunk (padded steps masked) + kl_weight * KL; logs loss, l1, kl."""
        with self.own_noise(batch["obs"].device):
            loss, logs, _ = self.act_terms(batch)
        return loss, logs

    def after_step(self) -> dict[str, float]:
        """ACT has nothing to update after the optimiser step."""
        return {}

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Every parameter (ACT has no EMA copy)."""
        return list(self.parameters())

    @torch.no_grad()
    def predict_chunk(self, obs: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Action chunk (B, k, A) in [-1, 1] for standardised ``obs`` (B, To, O).

        z = 0, the prior mean, as ACT at test time (Sec. IV-B), so the prediction is
        deterministic in eval mode and ``generator`` is not used (kept for the interface).
        The caller sets eval mode (dropout off).
        """
        self.check_obs(obs)
        o_t = obs[:, -1]
        z = o_t.new_zeros(o_t.shape[0], self.cfg.latent_dim)
        return self.decode(self.context(o_t, z)).clamp(-1.0, 1.0)

    # the noise stream travels with the weights, so a resumed run draws what it would have
    def get_extra_state(self) -> dict[str, Any]:
        return {"noise_gen": self.noise_gen.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.noise_gen.set_state(state["noise_gen"])
