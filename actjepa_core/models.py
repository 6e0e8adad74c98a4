"""The layers every method of the article builds from: observation encoder f (MLP on states,
CNN on frames), action encoder h, predictor g, decoder, BC head, and the base of the
baselines' models. The methods themselves (``methods.actjepa``, ``autoencoder``,
``contrastive``, ``recon``) put these together with their objective (``objectives``).

ACT-JEPA learns a forward model in representation space: from ``s_t = f(o_t)`` and the
action embedding ``e_a = h(a_t)``, the predictor outputs ``g(s_t, e_a)``, trained to match the
target ``f_bar(o_{t+1})`` of an EMA copy ``f_bar`` of the encoder. The observation given to the
encoder is the whole flat vector ``observation ++ desired_goal`` (see ``envs``): the goal is
part of the state a policy must see, so the encoder sees it too. On a pixel task it is an RGB
frame flattened channels first, and ``ConvEncoder`` takes the place of ``MLPEncoder``
(``make_encoder`` picks one from the config); everything downstream of the encoder is the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import INJECTIONS, RepresentationConfig


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, act: type[nn.Module] = nn.ReLU
        ) -> nn.Sequential:
    """Linear-act-...-Linear stack; the output layer has no activation."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h), act()]
        width = h
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def check_transitions(encoder: Encoder, action_dim: int, obs: torch.Tensor,
                      actions: torch.Tensor | None = None,
                      next_obs: torch.Tensor | None = None) -> None:
    """Raise ValueError on wrong widths, mismatched batch sizes or NaN/inf values of a batch
    of transitions (shared by ACT-JEPA and the baselines' models)."""
    encoder.check_obs(obs, "obs")
    if next_obs is not None:
        encoder.check_obs(next_obs, "next_obs")
        if next_obs.shape[0] != obs.shape[0]:
            raise ValueError(f"obs has {obs.shape[0]} rows but next_obs {next_obs.shape[0]}")
    if actions is not None:
        if actions.dim() != 2 or actions.shape[1] != action_dim:
            raise ValueError(
                f"actions must have shape (B, {action_dim}), got "
                f"{tuple(actions.shape)}: wrong action width"
            )
        if actions.shape[0] != obs.shape[0]:
            raise ValueError(f"obs has {obs.shape[0]} rows but actions {actions.shape[0]}")
    for name, x in (("obs", obs), ("actions", actions), ("next_obs", next_obs)):
        if x is not None and not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or inf values")


class Encoder(nn.Module):
    """Base of observation encoders: maps a batch of observations to ``(B, out_dim)``.

    Subclasses set ``obs_shape`` (shape of one observation, used to check inputs) and
    ``out_dim``; a CNN encoder for pixels only has to honour the same two attributes.
    """

    obs_shape: tuple[int, ...]
    out_dim: int

    def check_obs(self, obs: torch.Tensor, name: str = "obs") -> None:
        """Raise ValueError unless ``obs`` is a batch of observations of the right shape."""
        if obs.dim() != len(self.obs_shape) + 1 or tuple(obs.shape[1:]) != self.obs_shape:
            raise ValueError(
                f"{name} must have shape (B, {', '.join(map(str, self.obs_shape))}), got "
                f"{tuple(obs.shape)}: wrong observation width for this encoder (check the task)"
            )


class MLPEncoder(Encoder):
    """State encoder f: flat observation (B, O) -> representation (B, D)."""

    def __init__(self, obs_dim: int, out_dim: int = 128, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        self.obs_shape = (obs_dim,)
        self.out_dim = out_dim
        self.net = mlp(obs_dim, hidden, out_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


def conv_out_size(size: int, layers: int = 3) -> int:
    """Side of the map after ``layers`` 3x3 convolutions of stride 2 and padding 1:
    each one maps a side n to ceil(n / 2) (64 -> 32 -> 16 -> 8)."""
    for _ in range(layers):
        size = (size - 1) // 2 + 1
    return size


def random_shift(frames: torch.Tensor, pad: int) -> torch.Tensor:
    """DrQ's augmentation (Kostrikov et al., 2020): pad each frame by ``pad`` pixels,
    repeating its border, and crop a random ``S x S`` window back out, a shift of up to
    ``pad`` pixels per axis, drawn per frame.

    The shifts come from torch's global CPU generator, so ``torch.manual_seed`` fixes them
    and they are the same on every device (the training loops seed it, see
    ``training.augment_rng``); only the small index tensor moves to the frames' device.
    """
    b, c, h, w = frames.shape
    padded = F.pad(frames, (pad, pad, pad, pad), mode="replicate")
    shifts = torch.randint(0, 2 * pad + 1, (b, 2)).to(frames.device)
    rows = shifts[:, :1] + torch.arange(h, device=frames.device)  # (B, H)
    cols = shifts[:, 1:] + torch.arange(w, device=frames.device)  # (B, W)
    batch = torch.arange(b, device=frames.device)[:, None, None, None]
    chan = torch.arange(c, device=frames.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


class ConvEncoder(Encoder):
    """Pixel encoder f: flat RGB frame (B, 3*S*S), channels first -> representation (B, D).

    Observations stay flat vectors everywhere in the package (datasets, batches, the
    standardisation), so the frame is reshaped to (B, 3, S, S) here. The torso is a small
    CNN in the style of DrQ / SAC-AE (Kostrikov et al., 2020; Yarats et al., 2021: four 3x3
    convolutions of 32 channels with ReLU) and of the Nature-DQN (Mnih et al., 2015: three
    strided convolutions, then fully connected layers): three 3x3 convolutions, 32
    channels, stride 2, padding 1, ReLU, then one linear layer to D. Unlike DrQ (stride 2
    once, then stride 1) every layer halves the frame, 64 -> 32 -> 16 -> 8, so the linear
    layer sees 32 * 8 * 8 = 2048 features rather than tens of thousands, and a step stays
    affordable on CPU. The sizes are our choice.

    ``augment > 0``: ``random_shift`` by up to that many pixels, in training mode only
    (the EMA target encoder is never in training mode, so targets see the frame as it is).
    """

    channels = 32
    """Channels of each convolution."""

    def __init__(self, frame_size: int, out_dim: int = 128, augment: int = 0):
        super().__init__()
        if frame_size < 1 or augment < 0:
            raise ValueError(f"need frame_size >= 1 and augment >= 0, got {frame_size}, {augment}")
        self.frame_size, self.augment = frame_size, augment
        self.obs_shape = (3 * frame_size * frame_size,)
        self.out_dim = out_dim
        c = self.channels
        self.torso = nn.Sequential(
            nn.Conv2d(3, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Linear(c * conv_out_size(frame_size) ** 2, out_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # a wrong width would reshape silently into a wrong batch: check the shape (no sync)
        if obs.dim() != 2 or obs.shape[1] != self.obs_shape[0]:
            raise ValueError(
                f"obs must have shape (B, {self.obs_shape[0]}), got {tuple(obs.shape)}: wrong "
                f"observation width for a ConvEncoder of {self.frame_size}x{self.frame_size} "
                f"frames; pass RGB frames flattened channels first, (B, 3, S, S) -> (B, 3*S*S)"
            )
        # reshape, not view: a training batch is a column slice of the data tensor
        x = obs.reshape(obs.shape[0], 3, self.frame_size, self.frame_size)
        if self.training and self.augment > 0:
            x = random_shift(x, self.augment)
        return self.head(self.torso(x))


def make_encoder(cfg: RepresentationConfig) -> Encoder:
    """The observation encoder a config asks for: ``ConvEncoder`` over frames when
    ``cfg.frame_size > 0``, else ``MLPEncoder`` (every method builds its encoder here, so
    all of them share one architecture per observation kind)."""
    if cfg.frame_size > 0:
        return ConvEncoder(cfg.frame_size, cfg.repr_dim, cfg.augment)
    return MLPEncoder(cfg.obs_dim, cfg.repr_dim, cfg.enc_hidden)


class MLPDecoder(nn.Module):
    """Decoder representation (B, D) -> observation (B, O), for the autoencoder baseline.

    On pixel tasks it decodes the flat frame too (our choice: one decoder for both kinds,
    the pixel-space MSE of the article's baselines); SAC-AE / DrQ-style pixel work uses a
    transposed-convolution decoder instead.
    """

    def __init__(self, repr_dim: int, obs_dim: int, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        self.net = mlp(repr_dim, hidden, obs_dim)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.net(s)


class ActionEncoder(nn.Module):
    """Action encoder h: 2-layer MLP lifting an action (B, A) into the representation space.

    Raw actions are 4 numbers; lifting them to D lets the predictor combine them with
    ``s_t`` by concatenation, addition or modulation, and lets h learn non-linear mixtures.
    """

    def __init__(self, action_dim: int, out_dim: int = 128, hidden: int = 128):
        super().__init__()
        self.action_dim = action_dim
        self.net = mlp(action_dim, (hidden,), out_dim)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        return self.net(actions)


class Predictor(nn.Module):
    """Predictor g(s_t, e_a) -> predicted next representation, through a narrow hidden layer.

    The hidden width is normally below D (a bottleneck): a weak predictor cannot map any
    input to any target, so the encoder has to make next-step prediction simple, which is
    one of the things, with the EMA target and the stop-gradient, that resists collapse.

    Action injection:
    - ``concat``: input ``[s; e]`` of width 2D;
    - ``add``: input ``s + e`` of width D;
    - ``film``: input ``s``; each hidden layer is modulated, ``act((1 + gamma_l(e)) * W_l h +
      beta_l(e))``. ``1 + gamma`` keeps the modulation near the identity at
      initialisation, and one linear map produces all gammas and betas at once;
    - ``none``: input ``s`` only (passive prediction, the V-JEPA-style baseline).
    """

    def __init__(self, repr_dim: int, hidden: int = 64, depth: int = 2, injection: str = "concat"):
        super().__init__()
        if injection not in INJECTIONS:
            raise ValueError(f"injection must be one of {INJECTIONS}, got {injection!r}")
        if depth < 1:
            raise ValueError(f"predictor depth must be >= 1, got {depth}")
        self.injection = injection
        self.repr_dim, self.hidden, self.depth = repr_dim, hidden, depth
        in_dim = 2 * repr_dim if injection == "concat" else repr_dim
        self.layers = nn.ModuleList(
            [nn.Linear(in_dim if i == 0 else hidden, hidden) for i in range(depth)]
        )
        self.out = nn.Linear(hidden, repr_dim)
        self.film = nn.Linear(repr_dim, 2 * depth * hidden) if injection == "film" else None

    def forward(self, s: torch.Tensor, e: torch.Tensor | None = None) -> torch.Tensor:
        if self.injection != "none" and e is None:
            raise ValueError(f"the {self.injection!r} predictor needs an action embedding")
        if self.injection == "concat":
            h = torch.cat([s, e], dim=-1)
        elif self.injection == "add":
            h = s + e
        else:
            h = s
        if self.film is None:
            for layer in self.layers:
                h = F.relu(layer(h))
        else:
            gb = self.film(e).view(e.shape[0], self.depth, 2, self.hidden)
            for i, layer in enumerate(self.layers):
                h = F.relu(torch.addcmul(gb[:, i, 1], layer(h), 1.0 + gb[:, i, 0]))
        return self.out(h)


class BCHead(nn.Module):
    """Policy head pi(s) -> action in [-1, 1] (tanh output), trained by behaviour cloning."""

    def __init__(self, in_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256)):
        super().__init__()
        self.net = mlp(in_dim, hidden, action_dim)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(s))


class RepresentationModel(nn.Module):
    """Common part of the article's baselines (``methods.autoencoder``, ``contrastive``,
    ``recon``): an online encoder ``f`` (``make_encoder(cfg)``, the same architecture as
    ACT-JEPA's), input checks, and the optimised parameters."""

    def __init__(self, cfg: RepresentationConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder: Encoder = make_encoder(cfg)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter (the baselines have no EMA target)."""
        return self.parameters()

    def check_inputs(self, obs: torch.Tensor, actions: torch.Tensor | None = None,
                     next_obs: torch.Tensor | None = None) -> None:
        """Raise ValueError on wrong widths, mismatched batch sizes or NaN/inf values."""
        check_transitions(self.encoder, self.cfg.action_dim, obs, actions, next_obs)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Representation ``s = f(obs)``, shape (B, D)."""
        return self.encoder(obs)
