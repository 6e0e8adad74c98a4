"""From tidy episode rows to the tables the result chapters show beside the claimed numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from .evaluate import summarize
from .stats import t975, wilson_interval


def with_task_average(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows plus a copy labelled ``task="average"``.

    Every task has the same evaluation episodes per seed, so pooling a seed's episodes over
    the three tasks gives that seed's task-averaged success, which ``summarize`` then treats
    like any task: the article's "Avg" columns are compared against exactly this.
    """
    return pd.concat([rows, rows.assign(task="average")], ignore_index=True)


def fmt_ci(mean: float, lo: float, hi: float) -> str:
    """``"54.1% [48.0, 60.2]"``: a success rate with its 95% CI, in percent."""
    return f"{100 * mean:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def inside(x: float, lo: float, hi: float) -> bool:
    """Whether ``x`` lies in ``[lo, hi]``, with a tolerance for a claim rounded to 0.1 point."""
    return lo - 5e-4 <= x <= hi + 5e-4


def verdict(claimed: float | None, lo: float, hi: float) -> str:
    """Where a claimed number falls against our 95% CI."""
    if claimed is None or pd.isna(claimed):
        return "no number claimed"
    if inside(claimed, lo, hi):
        return "within our CI"
    return "claim higher than ours" if claimed > hi else "claim lower than ours"


def beside_claimed(summary: pd.DataFrame, claimed: pd.DataFrame, on: Sequence[str]) -> pd.DataFrame:
    """Our summary (``success, ci_low, ci_high``) merged with the claims' ``claimed_success``."""
    out = summary.merge(claimed, on=list(on), how="left")
    out["ours"] = [fmt_ci(m, lo, hi) for m, lo, hi in zip(out.success, out.ci_low, out.ci_high)]
    out["claimed"] = [f"{100 * v:.1f}%" if pd.notna(v) else "—" for v in out.claimed_success]
    out["verdict"] = [verdict(c, lo, hi) for c, lo, hi in
                      zip(out.claimed_success, out.ci_low, out.ci_high)]
    return out


def summarize_with_average(rows: pd.DataFrame, by: Sequence[str] = ("task", "method")) -> pd.DataFrame:
    """``summarize`` per task and for the task average."""
    return summarize(with_task_average(rows), by=by)


def retention(summary: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """success(sigma) / success(0) per group: the article's measure of graceful degradation.

    A ratio of two estimated means; it is a point estimate and the book shows it as one.
    """
    by = list(by)
    clean = summary[summary.sigma == 0][by + ["success"]].rename(columns={"success": "clean"})
    out = summary.merge(clean, on=by, how="left")
    out["retention"] = out["success"] / out["clean"].where(out["clean"] > 0)
    return out


def paired_difference(rows: pd.DataFrame, treatment: str, control: str,
                      by: Sequence[str] = ("task",), key: str = "pretraining",
                      unit: str = "seed") -> pd.DataFrame:
    """Mean difference ``treatment - control`` of success per group, with a 95% interval
    over the paired units.

    Each unit (training seed) contributes its success rate under ``treatment`` minus its
    rate under ``control`` (rows whose ``key`` column names them), both over the same
    evaluation episodes; the mean of those differences equals the difference of the two
    means. Its Student-t interval over units carries the variation between training runs,
    and, as in ``stats.mean_ci``, it is widened where needed to contain Newcombe's interval
    for a difference of two proportions (from the Wilson intervals of each side's pooled
    episodes), so that it is never narrower than the finite number of episodes allows (two
    seeds with the same difference do not get a zero-width interval). One unit gets
    Newcombe's interval alone. Units present for only one of the two are dropped.
    Columns: ``by``, ``difference, ci_low, ci_high, units``.
    """
    by = list(by)
    missing = [c for c in [*by, key, unit, "success"] if c not in rows.columns]
    if missing:
        raise ValueError(f"paired_difference needs the columns {missing}")
    agg = (rows[rows[key].isin([treatment, control])]
           .groupby([*by, key, unit])["success"].agg(["sum", "count"]).unstack(key))
    for name in (treatment, control):
        if name not in agg["sum"].columns:
            raise ValueError(f"no rows with {key} == {name!r}")
    agg = agg.dropna()
    out = []
    for group, g in agg.groupby(level=by, sort=False):
        s1, n1 = g["sum"][treatment].to_numpy(float), g["count"][treatment].to_numpy(float)
        s0, n0 = g["sum"][control].to_numpy(float), g["count"][control].to_numpy(float)
        d = s1 / n1 - s0 / n0
        n, mean = len(d), float(d.mean())
        p1, p0 = s1.sum() / n1.sum(), s0.sum() / n0.sum()
        l1, u1 = wilson_interval(int(s1.sum()), int(n1.sum()))
        l0, u0 = wilson_interval(int(s0.sum()), int(n0.sum()))
        lo = mean - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        hi = mean + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
        if n > 1:
            half = t975(n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
            lo, hi = min(lo, mean - half), max(hi, mean + half)
        out.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))),
                    "difference": mean, "ci_low": max(-1.0, lo), "ci_high": min(1.0, hi),
                    "units": n})
    return pd.DataFrame(out)
