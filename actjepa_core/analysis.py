"""From tidy episode rows to the tables the result chapters show beside the seed's numbers."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .evaluate import summarize
from .stats import t_interval


def with_task_average(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows plus a copy labelled ``task="average"``.

    Every task has the same evaluation episodes per seed, so pooling a seed's episodes over
    the three tasks gives that seed's task-averaged success, which ``summarize`` then treats
    like any task: the seed's "Avg" columns are compared against exactly this.
    """
    return pd.concat([rows, rows.assign(task="average")], ignore_index=True)


def fmt_ci(mean: float, lo: float, hi: float) -> str:
    """``"54.1% [48.0, 60.2]"``: a success rate with its 95% CI, in percent."""
    return f"{100 * mean:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def verdict(claimed: float | None, lo: float, hi: float) -> str:
    """Where the seed's number falls against our 95% CI."""
    if claimed is None or pd.isna(claimed):
        return "no number claimed"
    if lo <= claimed <= hi:
        return "within our CI"
    return "seed higher than ours" if claimed > hi else "seed lower than ours"


def beside_seed(summary: pd.DataFrame, seed: pd.DataFrame, on: Sequence[str]) -> pd.DataFrame:
    """Our summary (``success, ci_low, ci_high``) merged with the seed's ``seed_success``."""
    out = summary.merge(seed, on=list(on), how="left")
    out["ours"] = [fmt_ci(m, lo, hi) for m, lo, hi in zip(out.success, out.ci_low, out.ci_high)]
    out["seed"] = [f"{100 * v:.1f}%" if pd.notna(v) else "—" for v in out.seed_success]
    out["verdict"] = [verdict(c, lo, hi) for c, lo, hi in
                      zip(out.seed_success, out.ci_low, out.ci_high)]
    return out


def summarize_with_average(rows: pd.DataFrame, by: Sequence[str] = ("task", "method")) -> pd.DataFrame:
    """``summarize`` per task and for the task average."""
    return summarize(with_task_average(rows), by=by)


def retention(summary: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """success(sigma) / success(0) per group: the seed's measure of graceful degradation.

    A ratio of two estimated means; it is a point estimate and the book shows it as one.
    """
    by = list(by)
    clean = summary[summary.sigma == 0][by + ["success"]].rename(columns={"success": "clean"})
    out = summary.merge(clean, on=by, how="left")
    out["retention"] = out["success"] / out["clean"].where(out["clean"] > 0)
    return out


def paired_difference(rows: pd.DataFrame, method: str, reference: str,
                      by: Sequence[str] = ("task",)) -> pd.DataFrame:
    """success(method) - success(reference) per group, paired by training seed, with a 95% CI.

    Per seed, each method's success rate over the same evaluation episodes; the difference
    of the two per seed; then ``stats.t_interval`` over seeds.
    """
    by = list(by)
    rates = rows[rows.method.isin([method, reference])].groupby(
        [*by, "method", "seed"])["success"].mean().unstack("method")
    missing = {method, reference} - set(rates.columns)
    if missing:
        raise ValueError(f"no rows for {sorted(missing)}")
    diff = (rates[method] - rates[reference]).dropna()
    out = []
    for key, d in diff.groupby(level=by):
        mean, lo, hi = t_interval(d.to_numpy())
        out.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                    "method": method, "diff": mean, "diff_low": lo, "diff_high": hi,
                    "seeds": len(d)})
    return pd.DataFrame(out)
