"""What chapter 2 shows of ACT-JEPA's parts, as tested functions.

The chapter opens each component, then measures it: the shapes of a real batch through a fresh
model, the parameters of each part, the predictor's bottleneck, a by-hand check of the latent
loss and how strongly each action injection routes the action. Each function returns the table
or the text of a paragraph, so a notebook cell is a call and what it reports is tested here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .config import INJECTIONS
from .objectives import latent_loss
from .methods.actjepa import ACTJEPA, JEPAConfig, build_model

PREDICTOR_INPUT = {"concat": "[s_t; e_a]", "add": "s_t + e_a", "film": "s_t", "none": "s_t"}
"""How the shape table names the predictor's input under each action injection."""

INJECTION_WORDS = {"concat": "concatenation", "add": "addition", "film": "FiLM",
                   "none": "no action injection"}
"""Each action injection in words, as ``bottleneck_paragraph`` names the model's own."""

EXAMPLE_PRED = ((1.0, 2.0, 0.0), (0.5, -1.0, 2.0))
EXAMPLE_TARGET = ((0.0, 1.0, 1.0), (1.0, 1.0, -1.0))
"""The hand-built prediction and target (N = 2, D = 3) of chapter 2's check of the loss."""


def data_sentence(n_episodes: int, n_transitions: int, cfg: JEPAConfig) -> str:
    """How many episodes and transitions the chapter works on and the widths O, A and D, so
    the reader knows the sizes before the shape table shows them."""
    return (f"{n_episodes} Push episodes give **{n_transitions} transitions**; an observation "
            f"has O = {cfg.obs_dim} numbers and an action A = {cfg.action_dim}. The default "
            f"configuration (the article's hyperparameter table) uses a representation of "
            f"D = {cfg.repr_dim} dimensions.")


def first_batch(batch_size: int, *arrays: np.ndarray) -> tuple[torch.Tensor, ...]:
    """The first ``min(batch_size, N)`` rows of each array as tensors: one batch of
    transitions as training would see it, the same for every table of the chapter; an error
    when the arrays disagree on N or ``batch_size`` is not positive."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    lengths = {len(x) for x in arrays}
    if len(lengths) != 1:
        raise ValueError(f"the arrays must have the same number of rows, got {sorted(lengths)}")
    return tuple(torch.as_tensor(x[:batch_size]) for x in arrays)


def shape_table(model: ACTJEPA, bc_head: nn.Module, obs: torch.Tensor, actions: torch.Tensor,
                next_obs: torch.Tensor) -> pd.DataFrame:
    """Every tensor of one forward pass, with its meaning and shape, indexed by ``tensor``.

    Why: the shapes are what makes the architecture concrete (the action lifted to D, the
    predictor's input, its narrow hidden layer). Forward hooks record what the predictor's
    first layer receives and what its last hidden layer outputs (the bottleneck), so the
    table reports the model's own tensors, not a re-computation of them. Under ``none`` there
    is no action embedding, and its row is left out.
    """
    predictor = model.predictor
    captured: dict[str, torch.Tensor] = {}
    hooks = [
        predictor.layers[0].register_forward_hook(
            lambda module, inputs, output: captured.__setitem__("input", inputs[0])),
        predictor.layers[-1].register_forward_hook(
            lambda module, inputs, output: captured.__setitem__("hidden", output)),
    ]
    try:
        with torch.no_grad():
            s = model.encode(obs)
            e = model.action_encoder(actions) if model.action_encoder is not None else None
            pred = predictor(s, e)
            target = model.target(next_obs)
            loss = latent_loss(pred, target, normalize=model.cfg.normalize_loss)
            a_hat = bc_head(s)
    finally:
        for hook in hooks:
            hook.remove()
    injection = predictor.injection
    rows = [
        ("o_t", "observation (standardised)", obs),
        ("a_t", "action", actions),
        ("o_{t+1}", "next observation", next_obs),
        ("s_t = f(o_t)", "online representation", s),
        ("e_a = h(a_t)", "action embedding", e),
        (PREDICTOR_INPUT[injection], f"predictor input ({injection})", captured["input"]),
        ("hidden", "predictor bottleneck layer", captured["hidden"]),
        ("ŝ_{t+1} = g(s_t, e_a)", "prediction", pred),
        ("s̄_{t+1} = f̄(o_{t+1})", "target", target),
        ("L", "latent loss", loss),
        ("π(s_t)", "BC head action", a_hat),
    ]
    return pd.DataFrame([(name, meaning, tuple(t.shape)) for name, meaning, t in rows
                         if t is not None],
                        columns=["tensor", "meaning", "shape"]).set_index("tensor")


def n_params(module: nn.Module | None) -> int:
    """Number of parameters of ``module`` (trainable or not); 0 for a missing part, such as
    the action encoder of a model without action injection."""
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


def parameter_table(model: ACTJEPA, bc_head: nn.Module) -> pd.DataFrame:
    """Parameters of each part of ``model``, of its predictor under every action injection
    (same configuration otherwise) and of the BC head, with what trains them.

    Why: the target encoder is as large as the online one but the optimiser never touches it,
    and the predictor is small on purpose; the counts show both.
    """
    rows = [
        ("encoder f (online)", n_params(model.encoder), "AdamW"),
        ("target encoder f̄", n_params(model.target_encoder), "EMA only"),
        ("action encoder h", n_params(model.action_encoder), "AdamW"),
    ]
    for injection in INJECTIONS:
        m = build_model(dataclasses.replace(model.cfg, action_injection=injection))
        rows.append((f"predictor g ({injection})", n_params(m.predictor), "AdamW"))
    rows.append(("BC head π", n_params(bc_head), "AdamW (later, encoder frozen)"))
    return pd.DataFrame(rows, columns=["component", "parameters", "trained by"]
                        ).set_index("component")


def bottleneck_paragraph(model: ACTJEPA) -> str:
    """The predictor's hidden width against D, its size against the encoder's, and the size of
    the no-bottleneck ablation's predictor (``bottleneck=False``, hidden width chosen by the
    configuration's default), so the claim "the predictor is small on purpose" has numbers."""
    cfg = model.cfg
    wide = build_model(dataclasses.replace(cfg, bottleneck=False, pred_hidden=None))
    pred, enc = n_params(model.predictor), n_params(model.encoder)
    return (f"The predictor's hidden width is **{cfg.pred_hidden}** against a representation of "
            f"**D = {cfg.repr_dim}** ({cfg.pred_hidden / cfg.repr_dim:.0%} of D), over "
            f"{cfg.pred_depth} hidden layers. With {INJECTION_WORDS[cfg.action_injection]} the "
            f"predictor has {pred:,} parameters, {pred / enc:.0%} of the encoder's {enc:,}. The "
            f"no-bottleneck ablation (`bottleneck=False`) widens the hidden layers to "
            f"{wide.cfg.pred_hidden} and the predictor to {n_params(wide.predictor):,} "
            f"parameters.")


def latent_loss_by_hand(pred: Sequence[Sequence[float]], target: Sequence[Sequence[float]],
                        normalize: bool = False) -> float:
    """The article's formula with plain Python loops: the squared distance summed over the D
    dimensions, averaged over the N rows; with ``normalize`` the mean of ``2 - 2 cos``.

    Why: an implementation that shares nothing with torch, to check ``latent_loss`` against.
    """
    def cos(u: Sequence[float], v: Sequence[float]) -> float:
        dot = sum(x * y for x, y in zip(u, v))
        return dot / (sum(x * x for x in u) ** 0.5 * sum(y * y for y in v) ** 0.5)

    if normalize:
        return sum(2 - 2 * cos(p, t) for p, t in zip(pred, target)) / len(pred)
    return sum(sum((x - y) ** 2 for x, y in zip(p, t)) for p, t in zip(pred, target)) / len(pred)


def latent_loss_check(pred: Sequence[Sequence[float]] = EXAMPLE_PRED,
                      target: Sequence[Sequence[float]] = EXAMPLE_TARGET) -> pd.DataFrame:
    """``latent_loss`` beside the formula by hand, raw and normalised, and whether a gradient
    reaches the prediction and the target after ``backward()`` of the raw loss.

    Why: the reader sees the reduction (sum over D, mean over N) and the stop-gradient hold on
    numbers small enough to check; the target must get no gradient even though it asks for one.
    """
    pred_t = torch.tensor(pred, requires_grad=True)
    target_t = torch.tensor(target, requires_grad=True)
    raw = latent_loss(pred_t, target_t)
    raw.backward()
    norm = latent_loss(pred_t, target_t, normalize=True)
    by_hand = latent_loss_by_hand(pred, target)
    by_hand_norm = latent_loss_by_hand(pred, target, normalize=True)
    grads = f"{pred_t.grad is not None} / {target_t.grad is not None}"
    return pd.DataFrame([
        {"loss": "raw", "formula (by hand)": by_hand, "latent_loss": raw.item(),
         "equal": abs(by_hand - raw.item()) < 1e-6, "grad reaches pred / target": grads},
        {"loss": "normalised", "formula (by hand)": by_hand_norm, "latent_loss": norm.item(),
         "equal": abs(by_hand_norm - norm.item()) < 1e-6, "grad reaches pred / target": ""},
    ]).set_index("loss")


def injection_table(cfg: JEPAConfig, obs: torch.Tensor, actions: torch.Tensor) -> pd.DataFrame:
    """For each action injection, a freshly initialised model (``cfg`` otherwise, same seed)
    predicts from the same states with the batch's actions and with the actions rolled by one
    row (another demonstrated action per state): the mean distance between the two
    predictions, the mean size of a prediction, and their ratio.

    Why: it shows how the architecture routes the action before any training; ``none`` is
    blind to it by construction, so its difference is exactly 0.
    """
    other = actions.roll(1, dims=0)
    rows = []
    for injection in INJECTIONS:
        m = build_model(dataclasses.replace(cfg, action_injection=injection)).eval()
        with torch.no_grad():
            s = m.encode(obs)
            p1, p2 = m.predict(s, actions), m.predict(s, other)
        rows.append({"injection": injection,
                     "mean ||ŝ(a) - ŝ(a')||": (p1 - p2).norm(dim=1).mean().item(),
                     "mean ||ŝ(a)||": p1.norm(dim=1).mean().item()})
    table = pd.DataFrame(rows).set_index("injection")
    table["relative difference"] = table["mean ||ŝ(a) - ŝ(a')||"] / table["mean ||ŝ(a)||"]
    return table


def injection_paragraph(table: pd.DataFrame) -> str:
    """The relative difference of each injection in words, from ``injection_table``: the
    numbers the reader should take from the table, and a reminder that training decides."""
    r = table["relative difference"]
    return (f"Swapping the action changes the prediction by {r['concat']:.1%} of its size with "
            f"concatenation, {r['add']:.1%} with addition and {r['film']:.1%} with FiLM, and by "
            f"exactly {r['none']:.0%} without action injection. Training decides how much the "
            f"action ends up mattering; the ablation chapters compare the modes by the success "
            f"of the policies they lead to.")
