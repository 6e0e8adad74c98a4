"""What chapters 11 and 12 show of the paper's ACT-JEPA, as tested functions.

Every table and every sentence whose wording depends on a result comes from here, so a
notebook cell is a call, a table or a figure, and the rule behind each sentence is tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from pandas.io.formats.style import Styler

from . import tables
from .analysis import (fmt_ci, paired_difference, retention, summarize_with_average,
                       with_task_average)
from .audit_paper import paper_claims, world_model_gain
from .data import Demonstrations
from .gate import (CURVE_FACTOR, LATENT_PARTS, Interval, convergence_check, curve_interval,
                   flattening_budget, gate_pending, gate_table, tuned_value)
from .gate import curve_summary as gate_curve_summary
from .methods import registry
from .methods.base import PolicyConfig
from .stats import t975
from .evaluate import summarize
from .profiles import get_profile
from .results import committed_runs, current_results, spec_field, stale_runs
from .suites import (CONVERGED, DP_DIAGNOSIS, LONGER, PAPER_CHUNKED, PAPER_METHODS,
                     converged_steps)
from .verdicts import fmt_pct, fmt_points

ORDER = tuple(PAPER_METHODS.values())
"""Row order of the chunked comparison's tables (the labels of ``suites.PAPER_METHODS``)."""


# ------------------------------------------------------------------------------- chapter 11
def loss_terms(history: pd.DataFrame) -> pd.DataFrame:
    """The logged loss terms of a training history, long: ``step, term, value``."""
    terms = [c for c in ("l1", "kl", "latent") if c in history.columns]
    if not terms:
        raise ValueError(f"the history has none of the loss terms l1, kl, latent: {list(history)}")
    return history.melt(id_vars="step", value_vars=terms, var_name="term").dropna()


def future_errors(model: nn.Module, demos: Demonstrations) -> pd.DataFrame:
    """How well the predictor foresees each target token, ``j = 0 .. n`` (0 is o_t's).

    For every window of ``demos`` (the training demonstrations: they carry the model's own
    standardisation), the squared error of the predicted token ``j`` (``predict_latents``)
    against the target encoder's token of the true sequence, beside the error of the best
    constant guess (the mean target token of step ``j`` over the windows). Their ratio is
    1 - R^2: below 1 the predictor knows which future the window has, at 1 it knows only the
    average one. Padded steps past the episode's end are left out.
    """
    cfg = model.cfg
    w = demos.windows(cfg.obs_horizon, cfg.chunk, cfg.obs_chunk)
    device = next(model.parameters()).device
    obs = torch.as_tensor(w["obs"], device=device)
    future = torch.as_tensor(w["future_obs"], device=device)
    pad = torch.as_tensor(w["future_pad"], device=device)
    keep = model.target_pad(pad) == 0
    model.eval()
    with torch.no_grad():
        pred = model.predict_latents(obs, pad)
        target = model.target_latents(obs[:, -1], future, pad)
    rows = []
    for j in range(cfg.obs_chunk + 1):
        k = keep[:, j]
        err = (pred[k, j] - target[k, j]).pow(2).sum(-1).mean().item()
        spread = (target[k, j] - target[k, j].mean(0)).pow(2).sum(-1).mean().item()
        rows.append({"j": j, "predictor": err, "mean guess": spread,
                     "ratio": err / spread if spread > 0 else math.nan})
    return pd.DataFrame(rows)


def future_sentence(errors: pd.DataFrame) -> str:
    """One sentence on how much of the targets' variation the predictor explains."""
    first, last = errors.iloc[0], errors.iloc[-1]
    head = (f"At j = {int(first.j)} the predictor's error is {first.ratio:.2f} times the "
            f"constant guess's (R² {1 - first.ratio:.2f}), at j = {int(last.j)} "
            f"{last.ratio:.2f} times (R² {1 - last.ratio:.2f})")
    better = errors[errors.ratio < 1].j.tolist()
    if len(better) == len(errors):
        return head + ": it tells the windows' futures apart at every step."
    if not better:
        return head + ": it knows no more than the average target; the latent loss is not yet a forecast."
    return head + f"; it beats the constant guess at j = {', '.join(map(str, better))} only."


def latent_monitor(history: pd.DataFrame) -> pd.DataFrame:
    """The collapse monitor's readings of a training history, long: one row per reading and
    output (``target``, ``predictor``), columns ``step, output, latent_std, latent_erank``
    (the shape ``plots.training.plot_collapse`` reads with ``encoder="latent"``)."""
    parts = []
    for part in LATENT_PARTS:
        cols = [f"{part}_std", f"{part}_erank"]
        if not set(cols) <= set(history.columns):
            raise ValueError(f"the history has no {part} readings ({cols}): was it trained "
                             f"by a method with a latent target?")
        read = history.dropna(subset=cols)[["step", *cols]]
        parts.append(read.rename(columns={cols[0]: "latent_std", cols[1]: "latent_erank"})
                     .assign(output=f"{part} tokens"))
    return pd.concat(parts, ignore_index=True)


def config_table(cfg: PolicyConfig) -> pd.DataFrame:
    """A method's config as a two-column table (field, value), for the chapter."""
    return pd.DataFrame({"value": [str(v) for v in cfg.to_dict().values()]},
                        index=pd.Index(list(cfg.to_dict()), name="field"))


# ------------------------------------------------------------------------------- chapter 12
def success_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean clean success with its 95% CI per task (and the task average) and method."""
    return summarize_with_average(rows[rows.sigma == 0], by=("task", "label", "method"))


def success_table(summary: pd.DataFrame) -> Styler:
    """Methods x tasks (then the average), each cell the mean over its 95% CI."""
    return tables.success_table(summary, present(summary))


def present(summary: pd.DataFrame) -> list[str]:
    """The method labels of ``summary``: those of ``ORDER`` first, in its order, then any other
    (an ablation's rows) in order of appearance."""
    labels = list(dict.fromkeys(summary.label))
    return [m for m in ORDER if m in labels] + [m for m in labels if m not in ORDER]


def protocol_sentence(rows: pd.DataFrame, P) -> str:
    """What the comparison's rows hold: seeds, episodes, noise levels, how many episodes."""
    sigmas = ", ".join(f"{s:g}" for s in sorted(rows.sigma.unique()))
    per_seed = rows[rows.sigma == 0].groupby(["task", "label", "seed"]).size()
    return (f"Profile **{P.name}**: {rows.label.nunique()} methods x {rows.task.nunique()} "
            f"tasks, {P.n_demos} demonstrations per task, {rows.seed.nunique()} training seeds "
            f"each, {int(per_seed.min())} held-out episodes per seed at each noise level σ in "
            f"{{{sigmas}}}; {len(rows):,} episodes in all. Each chunked method trains for "
            f"{P.policy_steps} steps of {P.policy_batch} windows; raw BC for {P.bc_steps} steps "
            f"of 256 transitions.")


def claims_table(claims: list[dict]) -> Styler:
    """The audit rows of the paper's claims as the chapter shows them, each cell whole
    (``tables.wrapped``)."""
    table = pd.DataFrame(claims)[["claim", "kind", "claimed", "ours", "verdict"]]
    return tables.wrapped(table.rename(columns={"claimed": "the paper says",
                                                "ours": "ours (95% CI)"}).set_index("claim"))


def leader_sentence(summary: pd.DataFrame) -> str:
    """Which method has the highest mean success on each task, and on average."""
    parts = []
    for task, g in summary.groupby("task", sort=False):
        best = g.loc[g.success.idxmax()]
        parts.append(f"{task}: {best.label} ({100 * best.success:.1f}%)")
    return "Highest mean clean success per task — " + "; ".join(parts) + "."


def lead_table(rows: pd.DataFrame, treatment: str = "actjepa_paper",
               controls: tuple[str, ...] = ("act", "diffusion_policy", "raw")) -> Styler:
    """Paired differences (points, 95% CI over seeds) of ``treatment`` minus each control,
    per task and on average, on the clean episodes."""
    clean = summarize_input(rows)
    out = []
    for control in controls:
        if control not in set(clean.method):
            continue
        d = paired_difference(clean, treatment, control)
        out.append(d.assign(control=control))
    table = pd.concat(out, ignore_index=True)
    table["cell"] = [tables.points_cell(d, lo, hi)
                     for d, lo, hi in zip(table.difference, table.ci_low, table.ci_high)]
    names = {m: registry.row_label(m) for m in controls}
    minus = f"{registry.row_label('actjepa_paper')} minus"
    table = table.assign(control=table.control.map(names)).rename(columns={"control": minus})
    return tables.stacked(table, minus, "task",
                          index_order=[names[c] for c in controls],
                          column_order=tables.TASK_COLUMNS)


def world_model_table(world_model: pd.DataFrame) -> Styler:
    """``audit_paper.world_model_gain`` as the chapter shows it: each encoder's mean future-probe
    R² and the relative gain of ACT-JEPA (paper) over ACT with its 95% interval."""
    gain = world_model_gain(world_model)
    shown = pd.DataFrame({
        "ACT R²": gain.act_r2.map("{:.3f}".format),
        "ACT-JEPA (paper) R²": gain.jepa_r2.map("{:.3f}".format),
        "relative gain": ["undefined (ACT's R² ≤ 0)" if pd.isna(g) else
                          f"{g:+.0%} [{lo:+.0%}, {hi:+.0%}]"
                          for g, lo, hi in zip(gain.gain, gain.ci_low, gain.ci_high)]},
        index=gain.index)
    return shown.style.set_table_styles(tables.CELL_CSS)


def summarize_input(rows: pd.DataFrame) -> pd.DataFrame:
    """Clean rows plus the task-average copy (``analysis.with_task_average``)."""
    return with_task_average(rows[rows.sigma == 0])


def _seed_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean over seeds and its Student-t 95% interval (NaN half-width for one seed)."""
    half = (t975(len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
            if len(values) > 1 else np.nan)
    return values.mean(), values.mean() - half, values.mean() + half


def probe_summary(world_model: pd.DataFrame) -> pd.DataFrame:
    """Mean probe R^2 per task, method and j with a Student-t 95% interval over seeds
    (columns ``success, ci_low, ci_high`` so the book's curve figures draw it)."""
    out = []
    for (task, label, j), g in world_model.groupby(["task", "label", "j"], sort=False):
        mean, low, high = _seed_interval(g.r2.to_numpy(float))
        out.append({"task": task, "label": label, "j": j, "success": mean,
                    "ci_low": low, "ci_high": high, "seeds": len(g)})
    return pd.DataFrame(out)


def action_fit_table(world_model: pd.DataFrame) -> pd.DataFrame:
    """``action_r2`` (``probes.action_fit``: the policy's first action against the
    demonstrated one, unseen episodes) per method (rows) and task (columns), mean [95% CI]
    over training seeds."""
    runs = world_model.drop_duplicates(["task", "label", "seed"])
    cells = {(method, task): "{:.2f} [{:.2f}, {:.2f}]".format(
                 *_seed_interval(g.action_r2.to_numpy(float)))
             for (task, method), g in runs.groupby(["task", "label"], sort=False)}
    table = pd.Series(cells).unstack()
    return table.reindex(index=[m for m in ORDER if m in table.index],
                         columns=list(dict.fromkeys(runs.task)))


def blind_decoder_sentence(world_model: pd.DataFrame,
                           treatment: str = registry.row_label("actjepa_paper"),
                           reference: str = registry.row_label("act"), ratio: float = 0.5) -> str:
    """Names the tasks where ``treatment``'s action fit is below ``ratio`` times
    ``reference``'s (means over seeds), with both values and both encoders' future probe
    R^2 at j = 1."""
    runs = world_model.drop_duplicates(["task", "label", "seed"])
    fit = runs.groupby(["task", "label"]).action_r2.mean()
    probe = world_model[world_model.j == 1].groupby(["task", "label"]).r2.mean()
    blind = [t for t in dict.fromkeys(runs.task)
             if fit[(t, treatment)] < ratio * fit[(t, reference)]]
    if not blind:
        return (f"On every task {treatment}'s first action fits the demonstrated one at least "
                f"{ratio:.0%} as well as {reference}'s: its action decoder reads the observation.")
    parts = [f"on {t}, {treatment}'s first action explains R² = {fit[(t, treatment)]:.2f} of the "
             f"demonstrated action on unseen episodes, against {fit[(t, reference)]:.2f} for "
             f"{reference}, while its encoder's future probe at j = 1 reaches "
             f"R² = {probe[(t, treatment)]:.2f} ({reference}: {probe[(t, reference)]:.2f})"
             for t in blind]
    return ("The policy stops reading its observation: " + "; ".join(parts)
            + ". Whether a fresh head could act on that encoder is what "
            "the frozen-encoder section below measures.")


FROZEN_SUFFIX = " encoder, frozen + BC"
"""How ``suites.PAPER_FROZEN`` labels a BC head on a method's frozen encoder."""


def frozen_sentence(summary: pd.DataFrame) -> str:
    """Per end-to-end policy of ``summary`` (a ``success_summary`` of the frozen-encoder
    experiment), the task-average success of a BC head on its frozen encoder beside its own,
    and the tasks where the head's interval lies wholly above the policy's."""
    avg = summary[summary.task == "average"].set_index("label")
    parts = []
    for method in [m for m in ORDER if m in avg.index and m + FROZEN_SUFFIX in avg.index]:
        own, head = avg.loc[method], avg.loc[method + FROZEN_SUFFIX]
        per_task = summary[summary.task != "average"].set_index(["label", "task"])
        above = [t for t in dict.fromkeys(summary.task) if t != "average"
                 and per_task.loc[(method + FROZEN_SUFFIX, t), "ci_low"]
                 > per_task.loc[(method, t), "ci_high"]]
        where = f", and above it, interval clear of interval, on {' and '.join(above)}" if above else ""
        parts.append(f"a BC head on {method}'s frozen encoder reaches "
                     f"{fmt_ci(head.success, head.ci_low, head.ci_high)} on average against "
                     f"{fmt_ci(own.success, own.ci_low, own.ci_high)} for the policy itself{where}")
    if not parts:
        raise ValueError("no end-to-end policy with its frozen-encoder row in the summary")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _direction(lo: float, hi: float) -> str:
    """Words for a difference's 95% interval: clear of zero on one side, or containing it."""
    if lo > 0:
        return "higher"
    if hi < 0:
        return "lower"
    return "no difference the interval can detect"


def versus_sentence(rows: pd.DataFrame, reference: str) -> str:
    """Every other row label (``label``) of ``rows`` against ``reference``: clean, task
    average, the paired difference over training seeds with its 95% CI
    (``analysis.paired_difference``) and what the interval says. The one rule of chapter 12's
    ablations: a row differs from the reference only where that interval excludes zero."""
    clean = with_task_average(rows[rows.sigma == 0])
    ref = summarize_with_average(rows[rows.sigma == 0], by=("task", "label"))
    ref = ref[(ref.task == "average") & (ref.label == reference)]
    if ref.empty:
        raise ValueError(f"no rows labelled {reference!r} to compare against")
    parts = []
    for label in [m for m in dict.fromkeys(rows.label) if m != reference]:
        d = paired_difference(clean, label, reference, by=("task",), key="label")
        d = d[d.task == "average"].iloc[0]
        parts.append(f"{label} {fmt_points(d.difference, d.ci_low, d.ci_high)}, "
                     f"{_direction(d.ci_low, d.ci_high)}")
    r = ref.iloc[0]
    return (f"Against {reference} ({fmt_ci(r.success, r.ci_low, r.ci_high)}, task average, "
            f"clean), paired by training seed: " + "; ".join(parts) + ".")


def noise_sentence(average: pd.DataFrame) -> str:
    """What the noise figure shows, in words: at the largest σ of ``average`` (the task
    average per ``label`` and ``sigma``, columns ``success``), each method's success beside its
    clean one and the share it keeps (``analysis.retention``), the most kept first. The share
    is a ratio of two estimated means and reads as a point estimate, as in chapter 7."""
    if not (average.sigma == 0).any() or not (average.sigma > 0).any():
        raise ValueError(f"noise_sentence needs σ = 0 and a σ > 0; got σ in "
                         f"{sorted(average.sigma.unique())}")
    ret = retention(average, by=("label",))
    top = ret[np.isclose(ret.sigma, ret.sigma.max())].sort_values("retention", ascending=False)
    parts = [f"{r.label} {fmt_pct(r.retention)} ({fmt_pct(r.clean)} → {fmt_pct(r.success)})"
             for r in top.itertuples()]
    return (f"At σ = {top.sigma.iloc[0]:g}, the largest test noise, the share of its clean "
            f"task-average success each method keeps: " + "; ".join(parts) + ".")


def data_efficiency_sentence(rows: pd.DataFrame,
                             treatment: str = registry.row_label("actjepa_paper"),
                             control: str = registry.row_label("act")) -> str:
    """At each number of demonstrations, ``treatment`` minus ``control`` (clean, task average,
    paired by seed, 95% CI), with the same words as ``versus_sentence``."""
    clean = with_task_average(rows[rows.sigma == 0])
    d = paired_difference(clean, treatment, control, by=("task", "n_demos"), key="label")
    d = d[d.task == "average"].sort_values("n_demos")
    parts = [f"{int(r.n_demos)} demonstrations {fmt_points(r.difference, r.ci_low, r.ci_high)} "
             f"({_direction(r.ci_low, r.ci_high)})" for r in d.itertuples()]
    return (f"{treatment} minus {control}, task average, clean, paired by training seed: "
            + "; ".join(parts) + ".")


def still_learning(gate: pd.DataFrame | None) -> dict[str, str]:
    """The methods ``gate`` (``gate.gate_table``) finds still learning, their convergence
    check failed, each with that check's figure; none without a gate."""
    return ({} if gate is None else
            {r.method: r.curve for r in gate.itertuples() if r.converged is False})


def one_budget_caveat(equal_gate: pd.DataFrame | None, methods: tuple[str, ...]) -> str:
    """What rows trained at the one budget can say where the equal-budget gate
    (``equal_gate``) finds a method of ``methods`` still learning: a difference between such
    rows may be one of learning speed, not of where training ends."""
    if equal_gate is None:
        return "These rows train for the one budget, whose sanity gate has no results yet."
    learning = {m: curve for m, curve in still_learning(equal_gate).items() if m in methods}
    if not learning:
        return ("These rows train for the one budget, where the gate above finds none of their "
                "methods still learning.")
    who = " and ".join(f"{PAPER_METHODS[m]} ({curve})" for m, curve in learning.items())
    return (f"These rows train for the one budget, where the gate above finds {who} still "
            f"learning: a difference between them may be one of learning speed, not of where "
            f"training ends.")


def not_run_note(name: str, profile: str = "full") -> str:
    """What a chapter says where an experiment has no current full-profile results: none
    committed, or committed from an earlier build of its methods."""
    extra, missing = stale_runs(name, profile)
    state = ("has no committed full-profile results yet" if not extra else
             f"has committed full-profile results from an earlier build of its methods "
             f"({len(extra)} run(s) that today's code no longer specifies, {len(missing)} of "
             f"today's runs missing), which this page does not show under today's names")
    today, _, saved = committed_runs(name, get_profile(profile))
    done = (f" {len(saved)} of its {len(today)} runs are finished and committed (in a partial "
            f"file or another experiment's results); `reproduce` resumes from them." if saved
            else "")
    return (f"*The `{name}` experiment {state}.{done} Run it with `python -m actjepa_core "
            f"reproduce --profile full --experiments {name}`; this section then shows it.*")


# ------------------------------------------------------- working methods: curves and the gate
def run_setting(rows: pd.DataFrame, field: str) -> pd.Series:
    """A config field of each row's chunked run (its resolved config, from the ``spec``
    column): what a curve or a search varied."""
    return spec_field(rows, lambda spec: spec["resolved"]["policy"][field])


def run_steps(rows: pd.DataFrame) -> pd.Series:
    """The optimiser steps of each row's chunked run."""
    return run_setting(rows, "steps").astype(int)


def curve_rows(profile: str) -> pd.DataFrame | None:
    """The learning curves of every chunked method (``paper_curves_<method>``) with a ``steps``
    column; None until all of them have today's results."""
    parts = [current_results(f"paper_curves_{m}", profile) for m in PAPER_CHUNKED]
    if any(p is None for p in parts):
        return None
    rows = pd.concat(parts, ignore_index=True)
    return rows.assign(steps=run_steps(rows))


def curves_note(profile: str) -> str:
    """Which curve experiments a full-profile chapter waits for (their committed files are
    absent or not today's, ``results.stale_runs``), with the command that computes them."""
    names = [f"paper_curves_{m}" for m in PAPER_CHUNKED]
    return " ".join(not_run_note(n, profile) for n in names if any(stale_runs(n, profile)))


CONVERGENCE = "paper_convergence"
"""The experiment behind the chunked methods' convergence check at the budget."""


@dataclass(frozen=True)
class Comparison:
    """Where the results of one comparison of the chunked methods are, for its gate."""
    success: str
    """Its experiment on test episodes."""
    convergence: str
    """The experiment of the convergence check at the one budget (and at twice it)."""
    converged: Mapping[str, int] = field(default_factory=dict)
    """The methods it trains longer (``suites.CONVERGED``), as multiples of the budget."""
    longer: tuple[str, ...] = ()
    """The experiments of the checks at the longer budgets of ``suites.LONGER`` (2x, 4x the
    budget; each at that budget and twice it), in that order."""
    world_model: str | None = None
    """The experiment that probes its encoders for the future (Fetch only)."""

    def checks(self) -> dict[int, str]:
        """The experiment of the convergence check at each budget, as a multiple of the one
        budget: 1 (``convergence``), then each rung of ``suites.LONGER`` (``longer``)."""
        return {1: self.convergence, **dict(zip(LONGER, self.longer))}


COMPARISONS: dict[str, Comparison] = {
    "equal": Comparison("paper_main", CONVERGENCE, world_model="paper_world_model"),
    "converged": Comparison("paper_main_converged", CONVERGENCE, CONVERGED,
                            ("paper_convergence_long", "paper_convergence_longer"),
                            "paper_world_model_converged"),
}
"""The chunked comparison with one budget for every method, and with each at its converged
budget. The audit judges the paper's claims on the converged one, whose every method has
flattened."""


def check_experiment(c: Comparison, method: str) -> str:
    """The experiment of ``method``'s convergence check at its budget in ``c``
    (``Comparison.checks``)."""
    factor, checks = c.converged.get(method, 1), c.checks()
    if factor not in checks:
        raise ValueError(f"{method} trains for {factor}x the budget in {c.success}, which has "
                         f"no convergence check there; its checks: {checks}")
    return checks[factor]


def convergence_rows(c: Comparison, profile: str
                     ) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """The validation rows (with ``steps``) of ``c``'s convergence checks, each method's at
    its budget (``check_experiment``), and the methods whose check waits for an experiment
    with no results yet (method -> experiment)."""
    where = {m: check_experiment(c, m) for m in PAPER_CHUNKED}
    found, waits = [], {}
    for name in dict.fromkeys(where.values()):
        rows = current_results(name, profile)
        if rows is None:
            waits |= {m: name for m, n in where.items() if n == name}
        else:
            found.append(rows)
    return (_pooled(found) if found else None), waits


def _pooled(found: list[pd.DataFrame]) -> pd.DataFrame:
    """The validation rows of several convergence checks, each run once (a longer check's
    first runs are the check below's last), with ``steps``."""
    rows = pd.concat(found, ignore_index=True).drop_duplicates(["spec_key", "episode"])
    return rows.assign(steps=run_steps(rows))


def check_curves(c: Comparison, profile: str) -> pd.DataFrame | None:
    """Every convergence check of ``c`` that holds a run (``Comparison.checks`` up to its
    longest budget) and has results, pooled: each method's validation success at the one
    budget, twice it and on up the rungs it climbed; None before the first check is in."""
    deepest = max(c.converged.values(), default=1)
    found = [rows for f, name in c.checks().items()
             if f <= deepest and (rows := current_results(name, profile)) is not None]
    return _pooled(found) if found else None


def comparison_gate(c: Comparison, profile: str, reach: pd.DataFrame | None = None
                    ) -> pd.DataFrame | None:
    """``gate.gate_table`` of the chunked methods in ``c``: clean test success on Reach (from
    ``reach``, clean rows, where ``c`` has no Reach of its own), convergence at each method's
    budget in ``c`` (``convergence_rows``), collapse from the monitor columns of ACT-JEPA
    (paper)'s runs in ``c``. None until ``c``'s success experiment has today's results."""
    main = current_results(c.success, profile)
    if main is None:
        return None
    clean = main[main.sigma == 0]
    curves, waits = convergence_rows(c, profile)
    budgets = {m: int(run_steps(clean[clean.method == m]).median()) for m in PAPER_CHUNKED}
    width = int(run_setting(clean[clean.method == "actjepa_paper"], "d_model").iloc[0])
    return gate_table(clean if reach is None else reach, curves, budgets,
                      {m: PAPER_METHODS[m] for m in PAPER_CHUNKED},
                      latent_dims={"actjepa_paper": width}, waits_for=waits, latents=clean)


def sanity_gate(profile: str, comparison: str = "converged") -> pd.DataFrame | None:
    """The gate of the Fetch comparison ``comparison`` (``COMPARISONS``)."""
    return comparison_gate(COMPARISONS[comparison], profile)


def longer_failures(c: Comparison, profile: str) -> dict[str, str]:
    """Why each method ``c`` trains beyond twice the budget: its convergence checks at the
    longer budgets below its own (``suites.LONGER``) where this profile's results of them
    find it still learning, joined by "then"; methods trained at most twice the budget, or
    whose checks have no results here, are absent."""
    P = get_profile(profile)
    texts: dict[str, list[str]] = {}
    for f, name in c.checks().items():  # each check read once, for every method beyond it
        beyond = [m for m, factor in c.converged.items() if 1 < f < factor]
        if not beyond or (rows := current_results(name, profile)) is None:
            continue
        rows = rows.assign(steps=run_steps(rows))
        for method in beyond:
            flat, text = convergence_check(rows, method, f * P.policy_steps)
            if not flat:
                texts.setdefault(method, []).append(text)
    return {m: "; then ".join(t) for m, t in texts.items()}


def converged_sentence(equal_gate: pd.DataFrame | None, P,
                       converged: Mapping[str, int] = CONVERGED,
                       beyond: Mapping[str, str] | None = None) -> str:
    """Which methods a converged comparison trains longer (``converged``: ``suites.CONVERGED``
    or ``MW_CONVERGED``), with the check each failed at the one budget where this profile's
    gate (``equal_gate``) shows it failing, and, for a method trained beyond twice the
    budget, the longer checks it failed (``beyond``: ``longer_failures``)."""
    waiting = gate_pending(equal_gate, PAPER_CHUNKED)
    failed = still_learning(equal_gate)
    if not converged and waiting:
        return f"Which methods must train longer is not known yet: {waiting}."
    if not converged and failed:  # the budgets are the full profile's; a small one differs
        return (f"No method trains longer: the converged budgets are read off the full "
                f"profile's runs, though this profile's gate finds "
                f"{' and '.join(PAPER_METHODS[m] for m in failed)} still learning.")
    if not converged:
        return (f"Every chunked method's curve has flattened at {P.policy_steps:,} steps: the "
                f"converged comparison is the equal-budget one.")
    why = {m: "; then ".join(t for t in (failed.get(m), (beyond or {}).get(m)) if t)
           for m in converged}
    longer = [f"{PAPER_METHODS[m]} for {converged_steps(m, P, converged):,} steps"
              + (f" ({why[m]})" if why[m] else "") for m in converged]
    rest = [PAPER_METHODS[m] for m in PAPER_CHUNKED if m not in converged]
    keep = "keeps its" if len(rest) == 1 else "keep their"
    kept = (f"{' and '.join(rest)} {keep} {P.policy_steps:,} steps and raw BC its run"
            if rest else "raw BC keeps its run")
    return (f"The converged comparison trains {'; '.join(longer)}; {kept}, so those rows are "
            f"the equal-budget comparison's own. The gate checks each method again at its "
            f"budget there.")


def comparison_claims(profile: str, comparison: str) -> list[dict]:
    """``audit_paper.paper_claims`` judged on ``comparison`` (``COMPARISONS``): its success
    rows and world-model probes, behind its own sanity gate."""
    c = COMPARISONS[comparison]
    return paper_claims(current_results(c.success, profile),
                        current_results(c.world_model, profile),
                        gate=comparison_gate(c, profile))


def curve_summary(curves: pd.DataFrame, interval: Interval = curve_interval) -> pd.DataFrame:
    """``gate.curve_summary`` with each method's label, for ``plots.results.plot_curves_by_task``."""
    summary = gate_curve_summary(curves, interval)
    return summary.assign(label=summary.method.map(PAPER_METHODS))


def budget_sentence(curves: pd.DataFrame, budget: int) -> str:
    """What the rule reads off the curves (``gate.flattening_budget``) and the budget the
    profile trains every chunked method for."""
    flat = flattening_budget(curves, PAPER_CHUNKED)
    rule = (f"the smallest budget at which, for every method and task, validation success "
            f"reaches the 95% interval of success at {CURVE_FACTOR} times that budget")
    if flat is None:
        checks = {m: convergence_check(curves, m, budget, curve_interval) for m in PAPER_CHUNKED}
        learning = [f"{PAPER_METHODS[m]} ({text})" for m, (ok, text) in checks.items() if not ok]
        found = (f"No budget of the curves meets it for all three methods ({rule}). Every "
                 f"chunked method trains for **{budget:,} steps**, the largest budget whose "
                 f"double the curves measure; still learning there at its default settings: "
                 + ("; ".join(learning) if learning else "none") + ". The gate below checks "
                 "convergence again with each method's tuned settings, over the comparison's "
                 "training seeds (the curves have two, too few for an interval over seeds).")
    else:
        found = f"The curves flatten at **{flat:,} steps** ({rule})."
    same = ("" if flat is None else " That is the budget every chunked method trains for here."
            if flat == budget else f" This profile trains every chunked method for {budget:,} "
            f"steps, not that budget: its results are not the book's.")
    return found + same


def search_table(search: pd.DataFrame) -> Styler:
    """The search's trials: method and learning rate x tasks (then the average), validation
    success with its 95% CI."""
    summary = summarize_with_average(search, by=("task", "label", "method"))
    return tables.success_table(summary, list(dict.fromkeys(search.label)))


def search_sentence(search: pd.DataFrame, tuned: dict[str, dict]) -> str:
    """The rule's choice (``gate.tuned_value``) per method, and whether ``suites.TUNED``
    holds it (the main comparison runs with ``TUNED``)."""
    chosen = tuned_value(search.assign(lr=run_setting(search, "lr")), "lr")
    defaults = {m: registry.make_config(m, "reach").lr for m in chosen}
    parts = []
    for m, lr in chosen.items():
        used = tuned.get(m, {}).get("lr", defaults[m])
        note = "" if used == lr else f" (**but the comparison runs with {used:g}**)"
        parts.append(f"{PAPER_METHODS[m]} {lr:g}{note}")
    return ("By the rule fixed before the search (the learning rate with the highest "
            "task-average validation success; a tie keeps the default, listed first), the "
            "choice is: " + "; ".join(parts) + ".")


def diagnosis_table(rows: pd.DataFrame) -> Styler:
    """Diffusion Policy's diagnosis rows (``suites.DP_DIAGNOSIS``): validation success on Reach."""
    summary = summarize(rows, by=("task", "label"))
    return tables.success_table(summary, list(dict.fromkeys(rows.label)))


def diagnosis_sentence(rows: pd.DataFrame) -> str:
    """Which single change moves Diffusion Policy's validation success on Reach the most,
    against the first build (the first row of ``suites.DP_DIAGNOSIS``)."""
    summary = summarize(rows, by=("label",)).set_index("label")
    first = next(iter(DP_DIAGNOSIS))
    base = summary.loc[first, "success"]
    best = summary.success.idxmax()
    return (f"As first built, Diffusion Policy reaches {100 * base:.1f}% of the validation "
            f"episodes on Reach; the best row, *{best}*, reaches "
            f"{100 * summary.loc[best, 'success']:.1f}% "
            f"[{100 * summary.loc[best, 'ci_low']:.1f}, {100 * summary.loc[best, 'ci_high']:.1f}].")
