"""Linear probes: what a frozen representation keeps, measured as held-out R^2.

A probe is ridge regression from the representation to a quantity of interest (the goal,
the gripper-to-block offset, the block-to-goal offset, the expert's action). Its R^2 on
held-out *episodes* (never on held-out steps of training episodes, which would leak) says
how much of that quantity a linear read-out can recover: 1 keeps it all, 0 nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from .data import Demonstrations
from .envs import get_task

RIDGE = 1e-3
"""Ridge penalty relative to the mean feature variance: keeps the solve well posed when a
representation has (near-)dead dimensions, too small to matter otherwise."""


def probe_targets(d: Demonstrations) -> dict[str, np.ndarray]:
    """Quantities a policy needs, per step (E, T, k), from the raw observations."""
    lay = get_task(d.task).layout
    o = d.obs[:, :-1]
    targets = {"goal": o[..., lay["goal"]], "expert action": d.actions}
    if "object_pos" in lay.slices:
        targets["gripper-block offset"] = o[..., lay["object_rel_pos"]]
        targets["block-goal offset"] = o[..., lay["goal"]] - o[..., lay["object_pos"]]
    else:
        targets["gripper-goal offset"] = o[..., lay["goal"]] - o[..., lay["grip_pos"]]
    return targets


def ridge_r2(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
             y_test: np.ndarray) -> float:
    """Out-of-sample R^2 (averaged over target dims) of a ridge fit.

    The baseline is the *training* mean, not the test mean: a target that is constant
    within the test episodes (the goal, over one episode) still gets a finite, meaningful
    score, 0 for predicting no better than the training average.
    """
    mu_x, mu_y = x_train.mean(0), y_train.mean(0)
    X, Y = x_train - mu_x, y_train - mu_y
    lam = RIDGE * max(float(X.var(0).mean()), 1e-12) * len(X)
    if X.shape[1] <= X.shape[0]:
        W = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y)
    else:  # more features than rows (a raw frame): the same ridge fit, solved in its dual form
        W = X.T @ np.linalg.solve(X @ X.T + lam * np.eye(X.shape[0]), Y)
    return r2_score(y_test, (x_test - mu_x) @ W + mu_y, mu_y)


def r2_score(y: np.ndarray, pred: np.ndarray, baseline: np.ndarray) -> float:
    """R^2 of ``pred`` for ``y`` (N, k), averaged over the k dims, against a constant
    ``baseline`` (k,) prediction (the training mean: see ``ridge_r2``)."""
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - baseline) ** 2).sum(0)
    return float(np.mean(1 - ss_res / np.maximum(ss_tot, 1e-12)))


def probe_representation(embed: Callable[[np.ndarray], np.ndarray], d: Demonstrations,
                         test_frac: float = 0.25, states: Demonstrations | None = None
                         ) -> pd.DataFrame:
    """R^2 of linear probes from ``embed(standardised obs)`` to each probe target.

    The last ``test_frac`` of the episodes are held out for scoring. The targets come from
    ``states`` when given: the state demonstrations of the same episodes as the frames of
    ``d`` (a frame has no goal vector to read a target from).
    """
    states = states if states is not None else d
    if not (np.array_equal(states.seeds, d.seeds) and np.array_equal(states.actions, d.actions)):
        raise ValueError("the state demonstrations must be the same episodes as the probed ones "
                         "(same reset seeds and actions)")
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    n_test = max(2, int(round(d.n_episodes * test_frac)))
    if n_test >= d.n_episodes:
        raise ValueError(f"need at least 3 episodes to hold 2 out, got {d.n_episodes}")
    o = d.stats.standardize(d.obs[:, :-1])
    feats = np.asarray(embed(o.reshape(-1, o.shape[-1])), dtype=np.float64)
    feats = feats.reshape(d.n_episodes, d.episode_len, -1)
    rows = []
    for name, y in probe_targets(states).items():
        y = np.asarray(y, dtype=np.float64)
        tr, te = slice(0, -n_test), slice(-n_test, None)
        flat = lambda a, s: a[s].reshape(-1, a.shape[-1])  # noqa: E731
        rows.append({"target": name, "r2": ridge_r2(flat(feats, tr), flat(y, tr),
                                                    flat(feats, te), flat(y, te))})
    return pd.DataFrame(rows)


def torch_embedder(encoder: torch.nn.Module | None) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap an encoder (or None: the standardised observation itself) for the probes."""
    def embed(z: np.ndarray) -> np.ndarray:
        if encoder is None:
            return z
        with torch.no_grad():
            p = next(encoder.parameters())
            return encoder(torch.as_tensor(z, dtype=torch.float32, device=p.device)).cpu().numpy()
    return embed


def action_fit(model: torch.nn.Module, train: Demonstrations, test: Demonstrations) -> float:
    """R^2 of a chunked policy's first action for the demonstrated ``a_t`` on ``test``.

    The policy as it acts (eval mode, ``predict_chunk`` on ``train``'s standardisation),
    scored on unseen episodes against the training episodes' mean action. It tells a
    policy that reads its observation (near 1) from one whose action decoder ignores it
    (near 0, whatever its encoder holds): the diagnosis of chapter 12.
    """
    cfg = model.cfg
    w = test.windows(cfg.obs_horizon, cfg.chunk, cfg.obs_chunk, stats=train.stats)
    p = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            pred = model.predict_chunk(torch.as_tensor(w["obs"], device=p.device))[:, 0]
    finally:
        model.train(was_training)
    baseline = train.actions.reshape(-1, train.actions.shape[-1]).mean(0)
    return r2_score(w["actions"][:, 0].astype(np.float64), pred.cpu().numpy().astype(np.float64),
                    baseline)


def future_probe(embed: Callable[[np.ndarray], np.ndarray], train: Demonstrations,
                 test: Demonstrations, horizon: int) -> pd.DataFrame:
    """How much of the future a representation of the present holds, ``j = 1 .. horizon``.

    For each j, a ridge probe from ``embed(o_t)`` to the change of the sensor part
    ``o_{t+j} - o_t`` (standardised; the goal never changes), fitted on ``train`` and scored
    (R^2) on the unseen episodes of ``test``. The change rather than ``o_{t+j}`` itself, so
    that a representation that only copies ``o_t`` gets no credit for the future: this is
    our reading of the paper's "world model understanding" (how it measures it is not public
    in the text we could read; see chapter 12).
    """
    if not 1 <= horizon <= train.episode_len:
        raise ValueError(f"horizon must be in [1, {train.episode_len}], got {horizon}")
    sensor = get_task(train.task).layout.sensor_mask
    stats = train.stats

    def pairs(d: Demonstrations, j: int) -> tuple[np.ndarray, np.ndarray]:
        o = stats.standardize(d.obs)  # (E, T+1, O)
        now, later = o[:, : d.episode_len + 1 - j], o[:, j:]
        x = np.asarray(embed(now.reshape(-1, o.shape[-1])), dtype=np.float64)
        return x, (later - now)[..., sensor].reshape(-1, int(sensor.sum())).astype(np.float64)

    rows = []
    for j in range(1, horizon + 1):
        x_tr, y_tr = pairs(train, j)
        x_te, y_te = pairs(test, j)
        rows.append({"j": j, "r2": ridge_r2(x_tr, y_tr, x_te, y_te)})
    return pd.DataFrame(rows)
