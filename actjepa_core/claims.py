"""The article's numbers, as data, so every table can put them beside ours.

Source: ``shared/seeds/001_*.txt`` section 9 (``003_*.txt`` repeats it). The article calls these
results of Vujinovic and Kovacevic (2025), but says in its section 5 that no code is public
and that several hyperparameters are *inferred*; the paper's own summary (``000_*.txt``,
``002_*.txt``) reports ACT-JEPA "on par" with ACT and Diffusion Policy and contains none of
these tables. They are claims to test, not ground truth. Success rates are in [0, 1].
Method keys match ``experiments.METHODS``; "raw" is the article's "Raw pixel BC" row (our
observations are states, not pixels: the book says so wherever the row appears).
"""

from __future__ import annotations

import pandas as pd

TASKS = ("reach", "push", "pick_place")

MAIN = {  # method -> (reach, push, pick_place, average)
    "raw": (0.782, 0.524, 0.316, 0.541),
    "autoencoder": (0.840, 0.618, 0.423, 0.627),
    "contrastive": (0.865, 0.642, 0.458, 0.655),
    "passive": (0.871, 0.660, 0.482, 0.671),
    "actjepa": (0.924, 0.746, 0.589, 0.753),
}
"""Main table: success per task and average, BC head on each representation."""

CLAIMED_SIGMAS = (0.0, 0.05, 0.10, 0.20, 0.30)
"""The noise levels of the noise table (the protocol's are ``suites.NOISE_SIGMAS``)."""

NOISE = {  # method -> average success at each sigma of CLAIMED_SIGMAS (test-time noise)
    "raw": (0.541, 0.412, 0.287, 0.143, 0.068),
    "autoencoder": (0.627, 0.509, 0.384, 0.221, 0.125),
    "passive": (0.671, 0.583, 0.475, 0.326, 0.201),
    "actjepa": (0.753, 0.708, 0.642, 0.531, 0.417),
}
"""Noise table: average success under Gaussian observation noise at test time."""

RETENTION_AT_030 = {"raw": 0.126, "autoencoder": 0.199, "passive": 0.300, "actjepa": 0.554}
"""The article's retention success(0.30) / success(0) as it states it in the prose."""

ABLATIONS = {  # ablation key -> average success (None: the article reports "Collapsed")
    "full": 0.753,
    "no_action": 0.614,
    "no_ema": None,
    "tau_0.99": 0.721,
    "tau_0.9999": 0.738,
    "recon": 0.635,
    "no_bottleneck": 0.687,
    "concat": 0.753,
    "add": 0.739,
}
"""Ablation table: average success of each variant of ACT-JEPA + BC."""

TARGET_ABLATIONS = {  # chapter 4's target configuration -> its row in ABLATIONS
    "EMA, cosine 0.996 → 1": "full",
    "no EMA": "no_ema",
    "τ = 0.99": "tau_0.99",
    "τ = 0.9999": "tau_0.9999",
}
"""The rows of the ablation table that speak of the target encoder, by the names chapter 4
gives its target configurations: the full model uses the default EMA schedule, and the
article reports no row for a constant τ = 0.996 (absent here)."""

DATA_EFFICIENCY = {  # method -> average success at 10, 25, 50, 100 demonstrations
    "raw": (0.182, 0.325, 0.438, 0.541),
    "actjepa": (0.427, 0.583, 0.681, 0.753),
}
DEMO_COUNTS = (10, 25, 50, 100)


def main_table() -> pd.DataFrame:
    """Long table: method, task (including "average"), claimed_success."""
    rows = [{"method": m, "task": t, "claimed_success": v}
            for m, vals in MAIN.items() for t, v in zip((*TASKS, "average"), vals)]
    return pd.DataFrame(rows)


def noise_table() -> pd.DataFrame:
    """Long table: method, sigma, claimed_success (task average)."""
    return pd.DataFrame([{"method": m, "sigma": s, "claimed_success": v}
                         for m, vals in NOISE.items() for s, v in zip(CLAIMED_SIGMAS, vals)])


def data_efficiency_table() -> pd.DataFrame:
    """Long table: method, n_demos, claimed_success (task average)."""
    return pd.DataFrame([{"method": m, "n_demos": n, "claimed_success": v}
                         for m, vals in DATA_EFFICIENCY.items() for n, v in zip(DEMO_COUNTS, vals)])


HYPERPARAMETERS = (  # (component, hyperparameter, the article's value, the article's source mark)
    ("observation encoder", "architecture", "MLP (state) / CNN (image)", "Paper"),
    ("observation encoder", "layers", "3–4 MLP layers (state)", "Inferred"),
    ("observation encoder", "representation dim D", "128–256", "Inferred"),
    ("observation encoder", "activation", "ReLU or GELU", "Inferred"),
    ("action encoder", "architecture", "2-layer MLP", "Paper"),
    ("action encoder", "output dim", "D", "Paper"),
    ("predictor", "architecture", "MLP, 2–3 layers", "Paper"),
    ("predictor", "hidden dim", "≤ D (bottleneck)", "Inferred"),
    ("predictor", "input", "concatenation or sum", "Paper"),
    ("training", "optimiser", "Adam / AdamW", "Inferred"),
    ("training", "learning rate", "1e-3 to 3e-4", "Inferred"),
    ("training", "schedule", "cosine decay, linear warmup", "Inferred"),
    ("training", "warmup", "~10% of training", "Inferred"),
    ("training", "batch size", "64–256", "Inferred"),
    ("training", "steps", "task-dependent, moderate", "Paper"),
    ("training", "EMA momentum τ", "0.996–0.999", "Inferred"),
    ("training", "EMA schedule", "cosine toward 1.0", "Inferred"),
)
"""The article's hyperparameter table (``001_*.txt`` section 5) with the source it gives each
row: "Paper" (reported) or "Inferred" (from the experiment's scale or the JEPA family). The
task-dependent input dim and the GPU/framework rows are left out: they are not choices."""


PAPER: dict[str, tuple[str, str, float | None]] = {
    "on_par_act": ("ACT-JEPA (the paper's model) performs on par with ACT", "equivalence", None),
    "on_par_dp": ("ACT-JEPA (the paper's model) performs on par with Diffusion Policy",
                  "equivalence", None),
    "outperforms": ("ACT-JEPA outperforms the strongest baseline in all environments",
                    "direction", None),
    "up_to_success": ("ACT-JEPA achieves up to 10% higher task success", "difference", 0.10),
    "up_to_world_model": ("ACT-JEPA achieves up to 40% improvement in world model understanding",
                          "difference", 0.40),
}
"""The paper's claims (arXiv 2501.14622): key -> (claim, kind of rule, claimed number).

"On par" is the summary of ``000_*.txt`` and of the paper's first abstract; the other three
are the later abstract's (quoted by the issue and by public listings of the paper). The
paper's tables are on Meta-World, Push-T and ManiSkill, not on Fetch: these are claims about
the method, tested here on other tasks, and the audit says so."""

PAPER_METAWORLD_AVERAGE = 0.92
"""ACT-JEPA's average success over the paper's 15 Meta-World tasks, as reported (public
listings of arXiv 2501.14622 give 92%). Its baselines' averages there were not in any source
we could read."""
