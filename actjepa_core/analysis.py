"""From tidy episode rows to the tables the result chapters show beside the claimed numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .data import Demonstrations
from .envs import state_spec
from .evaluate import summarize
from .stats import t975, wilson_interval


def with_task_average(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows plus a copy labelled ``task="average"``.

    Every task has the same evaluation episodes per seed, so pooling a seed's episodes over
    the three tasks gives that seed's task-averaged success, which ``summarize`` then treats
    like any task: the article's "Avg" columns are compared against exactly this.
    """
    return pd.concat([rows, rows.assign(task="average")], ignore_index=True)


def as_state_tasks(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of pixel tasks (``push-pixels64``) under their state task's name (``push``), so
    the article's tables, keyed by task, compare with them as with the state rows."""
    return rows.assign(task=rows.task.map(lambda t: state_spec(t).name))


def fmt_ci(mean: float, lo: float, hi: float) -> str:
    """``"54.1% [48.0, 60.2]"``: a success rate with its 95% CI, in percent."""
    return f"{100 * mean:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def inside(x: float, lo: float, hi: float) -> bool:
    """Whether ``x`` lies in ``[lo, hi]``, with a tolerance for a claim rounded to 0.1 point."""
    return lo - 5e-4 <= x <= hi + 5e-4


def summarize_with_average(rows: pd.DataFrame, by: Sequence[str] = ("task", "label")) -> pd.DataFrame:
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
                      by: Sequence[str] = ("task",), key: str = "method",
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


# ------------------------------------------------------------ frames behind the figures
def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Fail with the missing column names when a figure gets a frame of the wrong shape."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs the columns {missing}; got {list(df.columns)}")


ACTION_NAMES = ("dx", "dy", "dz", "fingers")
"""The four action components of the Fetch tasks."""


def actions_frame(demos: dict[str, Demonstrations]) -> pd.DataFrame:
    """Tidy table of every demonstrated action: task, component, value."""
    rows = []
    for task, d in demos.items():
        acts = d.actions.reshape(-1, d.actions.shape[-1])
        for j, name in enumerate(ACTION_NAMES):
            rows.append(pd.DataFrame({"task": task, "component": name, "value": acts[:, j]}))
    return pd.concat(rows, ignore_index=True)


def first_success_steps(d: Demonstrations) -> np.ndarray:
    """Per episode, the first step whose reward says the goal is reached (NaN if never).

    Fetch episodes all last 50 steps, so the length of an episode says nothing; the step at
    which the expert first reaches the goal is the informative "length".
    """
    reached = d.rewards == 0
    first = reached.argmax(axis=1).astype(float) + 1
    first[~reached.any(axis=1)] = np.nan
    return first


# ----------------------------------------------------------------- training histories
MONITOR_COLUMNS = ("online_std", "online_erank", "online_cos", "target_std", "target_erank",
                   "target_cos", "drift")
"""Columns of a training history that only hold values on monitor steps."""


def stack_histories(runs: Mapping[object, pd.DataFrame], names: Sequence[str] = ("run",)
                    ) -> pd.DataFrame:
    """One long frame from several histories; the mapping's keys become the ``names`` columns.

    Keys are tuples when ``names`` has several entries, e.g. ``{("no EMA", 0): history}`` with
    ``names=("config", "seed")``.
    """
    frames = []
    for key, hist in runs.items():
        values = key if isinstance(key, tuple) else (key,)
        if len(values) != len(names):
            raise ValueError(f"key {key!r} does not match the column names {tuple(names)}")
        frame = hist.copy()
        for name, value in zip(names, values):
            frame[name] = value
        frames.append(frame)
    if not frames:
        raise ValueError("no histories to stack")
    return pd.concat(frames, ignore_index=True)


def monitor_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of a history on which the collapse monitor was read."""
    check_columns(history, ("step", "online_std"), "monitor_rows")
    return history[history["online_std"].notna()]


def final_monitor(history: pd.DataFrame, by: Sequence[str] = ("config", "seed")) -> pd.DataFrame:
    """Last monitor reading of every run (one row per combination of ``by``)."""
    by = list(by)
    check_columns(history, ["step", "online_std"] + by, "final_monitor")
    rows = monitor_rows(history).sort_values("step")
    return rows.groupby(by, sort=False).tail(1).reset_index(drop=True)


def summarize_final(history: pd.DataFrame, by: str = "config", seed: str = "seed",
                    last_fraction: float = 0.1) -> pd.DataFrame:
    """Per ``by`` value: mean and std over seeds of the final monitor figures, the share of
    runs flagged collapsed, the loss averaged over the last ``last_fraction`` of steps, and
    ``online_erank_lowest``, the lowest effective rank read during training (mean over seeds).
    Rows keep the order in which the ``by`` values first appear in ``history``."""
    check_columns(history, ("step", "loss", "online_std", "online_erank", "online_collapsed",
                             "target_erank", by, seed), "summarize_final")
    last = final_monitor(history, (by, seed))
    n_steps = history.groupby([by, seed], sort=False)["step"].transform("max")
    tail = history[history["step"] > (1 - last_fraction) * n_steps]
    loss = tail.groupby([by, seed], sort=False)["loss"].mean().rename("final loss").reset_index()
    last = last.drop(columns="loss").merge(loss, on=[by, seed])
    lowest = (monitor_rows(history).groupby([by, seed], sort=False)["online_erank"].min()
              .rename("lowest erank").reset_index())
    last = last.merge(lowest, on=[by, seed])
    agg = last.groupby(by, sort=False).agg(
        seeds=(seed, "nunique"),
        online_std=("online_std", "mean"), online_std_sd=("online_std", "std"),
        online_erank=("online_erank", "mean"), online_erank_sd=("online_erank", "std"),
        online_erank_lowest=("lowest erank", "mean"),
        target_erank=("target_erank", "mean"),
        collapsed=("online_collapsed", "mean"),
        final_loss=("final loss", "mean"),
    )
    return agg.reindex(pd.unique(history[by]))
