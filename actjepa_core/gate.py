"""The sanity gate: a method's results may decide a claim only if the method works.

A method that cannot solve Fetch Reach (the arm moves to a goal it sees) has a bug, a wrong
design choice or too small a budget, and a verdict computed from it is a verdict on that
failure, not on the claim. So before a claim is judged, every method it compares passes
three checks, each from a results file:

- **solves Reach**: clean test success on Reach of at least ``MIN_REACH`` (mean over the
  training seeds of the comparison);
- **converged**: its training has flattened at the budget used: on every task, mean
  validation success at the budget is at least the lower end of the 95% interval of success
  at ``CURVE_FACTOR`` times that budget (more training would not raise it beyond the noise);
  a method without both runs has not shown it and fails, with that reason, unless the
  experiment that measures it exists but has no results yet: then the check is *pending*
  (``gate_table``'s ``pending``), the method neither passes nor fails, and a claim comparing
  it is "not testable yet" (``gate_pending``) rather than "not testable". The interval is
  the book's interval of a success rate (``seed_interval``: Student-t over the training
  seeds, widened to the Wilson interval of the pooled episodes), over the comparison's
  training seeds. Between training runs of one budget success varies by up to 14 points on
  Fetch (the two seeds of one curve point), and curves go down and up (Diffusion Policy on
  Pick-and-place: 88.5%, 80.5%, 87.5% at 10k, 20k, 40k steps), so an interval of the pooled
  episodes alone reads that spread as "still learning": with it, the check failed at 10k
  (Diffusion Policy on Push, ACT-JEPA (paper) on Pick-and-place) and again at 20k
  (Diffusion Policy on Pick-and-place);
- **no collapse** (methods with a latent only): the last collapse-monitor reading of its
  latents (the chunked model's target and predictor outputs; the article's methods'
  pretrained encoder), averaged over the runs, passes ``monitor.is_collapsed``
  (per-dimension std and effective rank above the monitor's thresholds).

The same checks apply to the chunked methods (``report_paper.sanity_gate``, budget
``policy_steps``), to the article's five methods on states (``report_audit.article_gate``,
budget the profile's pretraining and BC steps, both doubled for the check) and on frames.

The budget itself is read off the learning curves (``flattening_budget``), which have two
training seeds per point: there a Student-t interval over seeds (t = 12.7 for one degree of
freedom) spans most of [0, 1] and would call any curve flat, so the curves use the Wilson
interval of their pooled validation episodes (``curve_interval``), the stricter reading.

``gate_table`` is the chapter's table (one row per method); ``gate_failure`` is what the
audit asks before judging a claim: None, or the reason it gives instead of a verdict
("<method> fails the sanity gate (<which part, with the number>)"); ``gate_pending`` what it
asks next: None, or the check a method still waits for. ``standing`` reads a row as passes,
fails or waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .monitor import is_collapsed
from .stats import mean_ci, wilson_interval

MIN_REACH = 0.90
"""Lowest clean test success on Reach that counts as solving it."""
CURVE_FACTOR = 2
"""The budget B is converged when success at B reaches the CI of success at this many times B."""
GATE_TASK = "reach"
"""The easy task every working method solves."""
LATENT_PARTS = ("target", "predictor")
"""The outputs whose spread the collapse check reads (``<part>_std``, ``<part>_erank``)."""


def latent_columns(parts: Sequence[str]) -> tuple[str, ...]:
    """The collapse monitor's columns of ``parts`` in results rows: ``<part>_std``,
    ``<part>_erank``."""
    return tuple(f"{p}_{k}" for p in parts for k in ("std", "erank"))


LATENT_COLUMNS = latent_columns(LATENT_PARTS)
"""The collapse monitor's columns of a method with a latent target, in training histories
and results rows (NaN for a method without one)."""


def seed_interval(rows: pd.DataFrame) -> tuple[float, float, float]:
    """Mean success and 95% CI with the training seeds as units (``stats.mean_ci``)."""
    per_seed = rows.groupby("seed")["success"].agg(["sum", "count"])
    return mean_ci(per_seed["sum"].to_numpy(), per_seed["count"].to_numpy())


def curve_interval(rows: pd.DataFrame) -> tuple[float, float, float]:
    """Success of one point of a learning curve and its 95% Wilson interval over the pooled
    validation episodes of its seeds (see the module docstring for why not over seeds)."""
    wins, n = int(rows.success.sum()), len(rows)
    lo, hi = wilson_interval(wins, n)
    return wins / n, lo, hi


def reach_check(clean: pd.DataFrame, method: str) -> tuple[bool, str]:
    """Does ``method`` solve Reach in ``clean`` (test rows at sigma 0)? And the figure."""
    rows = clean[(clean.method == method) & (clean.task == GATE_TASK)]
    if rows.empty:
        return False, f"no clean {GATE_TASK} results"
    mean, lo, hi = seed_interval(rows)
    text = f"{GATE_TASK} {100 * mean:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
    if mean < MIN_REACH:
        return False, f"{text} < {100 * MIN_REACH:.0f}%"
    return True, text


Interval = Callable[[pd.DataFrame], tuple[float, float, float]]
"""Mean success and 95% interval of some rows: ``seed_interval`` or ``curve_interval``."""


def convergence_check(curves: pd.DataFrame | None, method: str, budget: int,
                      interval: Interval = seed_interval) -> tuple[bool, str]:
    """Has ``method``'s validation success flattened at ``budget`` optimiser steps on every
    task it was measured on? ``curves`` has rows ``method, task, seed, steps, success``;
    ``interval`` is the gate's (over seeds) or, on the two-seed curves, ``curve_interval``."""
    longer = CURVE_FACTOR * budget
    if curves is None or curves.empty:
        return False, "no learning curve"
    mine = curves[curves.method == method]
    have = set(mine.steps)
    if budget not in have or longer not in have:
        return False, f"no learning curve at {budget:,} and {longer:,} steps"
    worst: tuple[float, str] | None = None
    for task, g in mine.groupby("task", sort=True):
        at, _, _ = interval(g[g.steps == budget])
        _, lo, _ = interval(g[g.steps == longer])
        if at < lo:
            gap = lo - at
            text = (f"{task}: {100 * at:.1f}% at {budget:,} steps; below the CI at "
                    f"{longer:,} steps (from {100 * lo:.1f}%)")
            if worst is None or gap > worst[0]:
                worst = (gap, text)
    if worst is not None:
        return False, worst[1]
    return True, f"flat from {budget:,} to {longer:,} steps"


def collapse_check(runs: pd.DataFrame, dim: int, parts: Sequence[str] = LATENT_PARTS
                   ) -> tuple[bool | None, str]:
    """The mean last monitor reading over ``runs`` (one row per run, columns
    ``<part>_std`` / ``<part>_erank`` for each of ``parts``: the chunked model's target and
    predictor, or the article's pretrained ``encoder``) against the monitor's thresholds for
    a ``dim``-wide latent. None when the method has no latent (no such columns, or all NaN)."""
    cols = list(latent_columns(parts))
    if not set(cols) <= set(runs.columns) or runs[cols].isna().all().all():
        return None, "no latent target"
    reasons = []
    for part in parts:
        stats = {k: float(runs[f"{part}_{k}"].mean()) for k in ("std", "erank")}
        reasons += [f"{part} {r}" for r in is_collapsed(stats, dim)]
    if reasons:
        return False, "collapsed: " + "; ".join(reasons)
    return True, "; ".join(f"{p} std {runs[f'{p}_std'].mean():.3f}, erank "
                           f"{runs[f'{p}_erank'].mean():.1f}" for p in parts)


def not_run(experiment: str) -> str:
    """What a pending check says: the experiment that measures it has no results yet."""
    return f"{experiment}: no results yet"


def gate_table(clean: pd.DataFrame, curves: pd.DataFrame | None, budgets: Mapping[str, int],
               labels: Mapping[str, str], latent_dims: Mapping[str, int] | None = None,
               latent_parts: Sequence[str] = LATENT_PARTS,
               waits_for: Mapping[str, str] | None = None, latents: pd.DataFrame | None = None
               ) -> pd.DataFrame:
    """One row per method of ``labels``: each check's outcome and figure, and the verdict.

    ``clean``: test rows at sigma 0 (``method, task, seed, success`` and, for methods with a
    latent, the monitor columns of ``latent_parts``); ``curves``: validation rows at the
    budget and at twice it (``steps`` column); ``budgets``: the steps each method was
    trained for in ``clean``; ``latent_dims``: the latent width D of methods with a latent;
    ``waits_for`` (method -> experiment): the methods whose convergence runs are in an
    experiment with no results yet: their check is pending (``converged`` None, ``pending``
    says which experiment) and the method does not pass, yet fails nothing; a method with no
    curve in ``curves`` that waits for nothing fails ("no learning curve").
    ``latents``: the runs whose monitor columns the collapse check reads, when they are not
    ``clean``'s (Meta-World's gate reads Reach off the Fetch runs, collapse off its own).
    """
    latent_dims = latent_dims or {}
    waits = dict(waits_for or {})
    out = []
    for method, label in labels.items():
        pending = not_run(waits[method]) if method in waits else ""
        reach_ok, reach = reach_check(clean, method)
        conv_ok, conv = ((None, pending) if pending
                         else convergence_check(curves, method, budgets[method]))
        coll_ok, coll = (None, "no latent target")
        if method in latent_dims:
            runs = (clean if latents is None else latents)
            runs = runs[runs.method == method].drop_duplicates("spec_key")
            coll_ok, coll = collapse_check(runs, latent_dims[method], latent_parts)
        failed = [text for ok, text in ((reach_ok, reach), (conv_ok, conv), (coll_ok, coll))
                  if ok is False]
        out.append({"method": method, "label": label, "solves reach": reach_ok, "reach": reach,
                    "converged": conv_ok, "curve": conv, "no collapse": coll_ok,
                    "collapse": coll, "passes": not failed and not pending,
                    "reason": "; ".join(failed), "pending": pending})
    return pd.DataFrame(out)


def standing(table: pd.DataFrame) -> pd.Series:
    """Each row's place at the gate: "passes"; "fails" (a check failed, said in ``reason``);
    or "waits" (none failed, one is pending). The one reading of ``passes`` and ``reason``
    that the audit's verdicts, the chapters' sentences and the gate's display share."""
    failed = table.reason.fillna("").astype(bool)
    return pd.Series(np.where(table.passes.astype(bool), "passes",
                              np.where(failed, "fails", "waits")), index=table.index)


def gate_failure(table: pd.DataFrame | None, methods: Sequence[str]) -> str | None:
    """None when no method of ``methods`` fails a check of the gate; otherwise the reason a
    claim comparing them is not testable: "<label> fails the sanity gate (<check, figure>)",
    one clause per failing method. A method missing from ``table`` fails as unchecked; one
    that only waits for a check (``gate_pending``) has not failed."""
    if table is None:
        return "the sanity gate was not computed"
    clauses = []
    for method in methods:
        row = table[table.method == method]
        if row.empty:
            clauses.append(f"{method} was not checked by the sanity gate")
        elif standing(row).iloc[0] == "fails":
            clauses.append(f"{row.label.iloc[0]} fails the sanity gate ({row.reason.iloc[0]})")
    return "; ".join(clauses) or None


def gate_pending(table: pd.DataFrame | None, methods: Sequence[str]) -> str | None:
    """None unless a method of ``methods`` waits for a check whose experiment has no results
    yet (``gate_table``'s ``pending``); then why a claim comparing them is not testable
    *yet*: "the sanity gate of <labels> waits for <experiment>: no results yet"."""
    if table is None or "pending" not in table:
        return None
    waiting = table[table.method.isin(methods) & (standing(table) == "waits")]
    if waiting.empty:
        return None
    return "; ".join(f"the sanity gate of {', '.join(g.label)} waits for {pending}"
                     for pending, g in waiting.groupby("pending", sort=False))


def curve_summary(curves: pd.DataFrame, interval: Interval = curve_interval) -> pd.DataFrame:
    """Validation success and its 95% interval (``interval``: ``curve_interval`` for the
    two-seed curves, ``seed_interval`` for the gate's checks) per method, task and budget
    (the chapter's figure): rows ``method, task, steps, success, ci_low, ci_high, seeds``."""
    out = []
    for (method, task, steps), g in curves.groupby(["method", "task", "steps"], sort=True):
        mean, lo, hi = interval(g)
        out.append({"method": method, "task": task, "steps": int(steps), "success": mean,
                    "ci_low": lo, "ci_high": hi, "seeds": g.seed.nunique()})
    return pd.DataFrame(out)


def flattening_budget(curves: pd.DataFrame, methods: Sequence[str]) -> int | None:
    """The smallest budget B of the learning curves (rows with a ``steps`` column) at which
    every method of ``methods`` passes ``convergence_check`` with the curves' interval: the
    one budget of the main comparison. None when no measured budget is flat for all."""
    budgets = sorted(set(curves.steps))
    for b in budgets:
        if CURVE_FACTOR * b in budgets and all(
                convergence_check(curves, m, b, curve_interval)[0] for m in methods):
            return int(b)
    return None


def tuned_value(search: pd.DataFrame, field: str) -> dict[str, float]:
    """The pre-registered rule of the hyperparameter search: per method, the value of
    ``field`` with the highest task-average validation success (means over seeds); a tie
    goes to the value listed first in the rows (the default comes first in the search)."""
    out = {}
    for method, g in search.groupby("method", sort=False):
        order = list(dict.fromkeys(g[field]))
        by_task = g.groupby([field, "task"]).success.mean().unstack("task").mean(axis=1)
        scores = np.array([by_task[v] for v in order])
        out[method] = order[int(np.argmax(scores))]
    return out
