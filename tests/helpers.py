"""Small helpers shared by several test files (imported as ``helpers``: pytest puts this
folder on ``sys.path``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
O, A = 6, 2
"""Observation and action widths of the toy system."""


def toy_data(n: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear system next = obs + 0.1 * B @ action, with a 2-dim "goal" part it leaves unchanged."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((n, O)).astype(np.float32)
    act = rng.uniform(-1, 1, (n, A)).astype(np.float32)
    B = rng.standard_normal((O, A)).astype(np.float32)
    nxt = obs + 0.1 * act @ B.T
    nxt[:, -2:] = obs[:, -2:]
    return obs, act, nxt.astype(np.float32)


def toc_files() -> list[str]:
    """Every ``root`` and ``file`` entry of _toc.yml, in order, as written there."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return found


def episodes(x: str, values: tuple, seeds: int = 2, n_eps: int = 10, seed: int = 0,
             tasks: tuple[str, ...] = ("reach", "push")) -> pd.DataFrame:
    """Tidy episode rows like ``experiment_results``: task, label, method, seed, x,
    success; ACT-JEPA succeeds with probability 0.8, raw BC with 0.5."""
    methods = {"raw": "raw BC", "actjepa": "ACT-JEPA + BC"}
    rng = np.random.default_rng(seed)
    rows = []
    for task in tasks:
        for key, label in methods.items():
            for s in range(seeds):
                for v in values:
                    p = 0.8 if key == "actjepa" else 0.5
                    rows.append(pd.DataFrame({
                        "task": task, "label": label, "method": key, "seed": s, x: v,
                        "episode": np.arange(n_eps), "success": (rng.random(n_eps) < p).astype(float)}))
    return pd.concat(rows, ignore_index=True)


def weight_fingerprint(module, without_key_bias: bool = False) -> dict[str, list[float]]:
    """Per floating tensor of ``module``'s state dict: sum, sum of squares and its first three
    values (float64): what the refactor guards compare, to a tolerance, instead of raw bytes.

    With ``without_key_bias`` the key third of each attention ``in_proj_bias`` (query, key and
    value biases, packed) is left out of the trained weights' fingerprint: its gradient is
    zero in exact arithmetic (softmax does not change when one constant is added to all of a
    query's logits), so what it holds after training is Adam's answer to rounding noise,
    which differs from one CPU's kernels to another's."""
    import torch

    out = {}
    for name, t in module.state_dict().items():
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            continue
        flat = t.detach().double().flatten()
        if without_key_bias and name.endswith("in_proj_bias"):
            third = flat.numel() // 3
            flat = torch.cat([flat[:third], flat[2 * third:]])
        out[name] = [float(flat.sum()), float((flat ** 2).sum()), *map(float, flat[:3])]
    return out


def own_sizes(method: str, sizes: dict) -> dict:
    """The entries of ``sizes`` that are fields of registered ``method``'s config (the
    autoencoder has no predictor, say)."""
    from dataclasses import fields

    from actjepa_core.methods import registry

    own = {f.name for f in fields(registry.get_method(method).config_class())}
    return {k: v for k, v in sizes.items() if k in own}


def small_config(method: str, sizes: dict, **kw):
    """A config of registered ``method`` from its ``own_sizes`` and then ``kw``, which must
    all be its fields."""
    from actjepa_core.methods import registry

    return registry.get_method(method).config_class()(**{**own_sizes(method, sizes), **kw})


def article_gate(failing: dict[str, str] | None = None) -> pd.DataFrame:
    """A sanity-gate table (``gate.gate_table``'s columns that the audit reads) in which the
    methods of ``failing`` (method -> reason) fail and every other main-table method passes."""
    from actjepa_core.suites import BASELINES

    failing = failing or {}
    return pd.DataFrame([{"method": m, "label": label, "passes": m not in failing,
                          "reason": failing.get(m, "")} for m, label in BASELINES.items()])
