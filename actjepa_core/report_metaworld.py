"""What chapter 14 shows of the paper's own benchmark, Meta-World, as tested functions.

The comparison's rows (``results/<profile>/paper_metaworld.csv``) hold one episode each of
one multi-task policy; the task of an episode is that of its env seed
(``meta_world.task_of_seed``). Per-task cells are ``evaluate.summarize``'s (mean over
training seeds, 95% CI); the 15-task average gets a hierarchical bootstrap
(``stats.hierarchical_mean_ci``) over training seeds and, within each, episodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from . import report_paper, tables
from .analysis import first_success_steps
from .audit_paper import task_average
from .claims import PAPER_METAWORLD_AVERAGE
from .evaluate import summarize
from .experts import make_expert
from .gate import CURVE_FACTOR, seed_interval
from .results import current_results
from .meta_world import EPISODE_STEPS, MT15, TASK_NAMES, per_task, task_names_of
from .methods.registry import row_label
from .rollout import run_episodes
from .seeds import episode_seeds
from .stats import wilson_interval
from .suites import MW_CONVERGED
from .tables import rate_cell
from .verdicts import claim_position, fmt_pct

EXPERT_FLOOR = 0.8
"""A task whose expert succeeds in fewer episodes than this would be replaced (issue 24): its
demonstrations would be too few and too narrow to judge a learner by."""

REPORTED: dict[str, float] = {row_label("actjepa_paper"): PAPER_METAWORLD_AVERAGE}
"""The paper's reported Meta-World averages (15 tasks) by method label: only ACT-JEPA's is in
a source we could read; the other cells stay empty rather than guessed."""

CONVERGENCE = "paper_metaworld_convergence"
"""The experiment behind the Meta-World convergence check."""
COMPARISONS: dict[str, report_paper.Comparison] = {
    "equal": report_paper.Comparison("paper_metaworld", CONVERGENCE),
    "converged": report_paper.Comparison("paper_metaworld_converged", CONVERGENCE, MW_CONVERGED,
                                         ("paper_metaworld_convergence_long",
                                          "paper_metaworld_convergence_longer")),
}
"""Meta-World's comparison at the Fetch budget and with each method at its converged budget
(``suites.MW_CONVERGED``); the audit judges the paper's claims here on the converged one."""

UNREACHABLE = {
    "Push-T": "installs (gym-pusht) and runs headless, but ships no scripted expert and no "
              "offline demonstrations we can reach without a download at run time",
    "ManiSkill": "renders through Vulkan, which these CPU machines do not have",
}
"""The paper's two other benchmarks and why the book does not run them."""


def expert_table(episodes_per_task: int) -> pd.DataFrame:
    """The scripted experts on ``episodes_per_task`` episodes of every task (the expert-check
    seeds, never a demonstration or test episode): success with its Wilson interval and the
    steps to first success (median and largest), which justify the 200-step episodes."""
    if episodes_per_task < 1:
        raise ValueError(f"episodes_per_task must be >= 1, got {episodes_per_task}")
    r = run_episodes("metaworld", make_expert("metaworld"),
                     episode_seeds("expert_check", episodes_per_task * len(MT15)))
    frame = pd.DataFrame({"task": task_names_of(r.seeds), "success": r.success,
                          "steps": first_success_steps(r)})
    rows = []
    for t in MT15:
        g = frame[frame.task == t.name]
        lo, hi = wilson_interval(int(g.success.sum()), len(g))
        rows.append({"task": t.name, "difficulty": t.difficulty, "episodes": len(g),
                     "success": g.success.mean(), "ci_low": lo, "ci_high": hi,
                     "median steps": g.steps.median(), "max steps": g.steps.max()})
    return pd.DataFrame(rows).set_index("task")


def below_floor(experts: pd.DataFrame, floor: float = EXPERT_FLOOR) -> list[str]:
    """The tasks whose expert succeeds in fewer than ``floor`` of its episodes."""
    return list(experts.index[experts.success < floor])


def expert_sentence(experts: pd.DataFrame, floor: float = EXPERT_FLOOR) -> str:
    """How the experts did, which tasks (if any) fall under the floor, and the longest solve."""
    low = below_floor(experts, floor)
    worst = experts.success.idxmin()
    text = (f"Over {int(experts.episodes.sum())} episodes the experts succeed in "
            f"{fmt_pct(experts.success.mean())} on average" + (
                ", every task in every episode. " if experts.success.min() == 1 else
                f", the weakest on {worst} ({fmt_pct(experts.success[worst])}). "))
    if low:
        text += (f"Under the {fmt_pct(floor)} floor: {', '.join(low)}; each would be replaced "
                 f"by a task of the same difficulty class before any training run.")
    else:
        text += f"No task falls under the {fmt_pct(floor)} floor, so none is replaced."
    longest = experts["max steps"].max()
    if pd.notna(longest):
        text += (f" The slowest solve takes {int(longest)} steps "
                 f"({experts['max steps'].idxmax()}), within the {EPISODE_STEPS}-step episodes.")
    return text


def task_summary(rows: pd.DataFrame, sigma: float = 0.0) -> pd.DataFrame:
    """Mean success and 95% CI per Meta-World task and method at noise ``sigma``."""
    part = per_task(rows[np.isclose(rows.sigma, sigma)])
    return summarize(part, by=("task", "label", "method"))


def task_table(summary: pd.DataFrame) -> Styler:
    """Tasks (in the paper's order, with their difficulty) x methods, each cell a rate over
    its CI."""
    difficulty = {t.name: f"{t.name} ({t.difficulty})" for t in MT15}
    cells = [rate_cell(m, lo, hi) for m, lo, hi in
             zip(summary.success, summary.ci_low, summary.ci_high)]
    frame = (summary.assign(cell=cells, task=summary.task.map(difficulty))
             .drop(columns="method").rename(columns={"label": "method"}))
    return tables.stacked(frame, "task", "method", index_order=[difficulty[t] for t in TASK_NAMES],
                          column_order=report_paper.ORDER)


PARTING = 0.1
"""Tasks whose methods' mean success spans more than this many points (as a fraction) are the
ones ``parting_sentence`` names: where the table's 15 rows stop agreeing."""


def parting_sentence(summary: pd.DataFrame, spread: float = PARTING) -> str:
    """Where the methods part ways: each task of ``summary`` (a ``task_summary``) whose
    highest and lowest mean success differ by more than ``spread``, widest first, with every
    method's rate; the count of the others, where every method scores within ``spread``."""
    rates = summary.pivot_table(index="task", columns="label", values="success")
    rates = rates[[m for m in report_paper.ORDER if m in rates.columns]]
    gap = (rates.max(axis=1) - rates.min(axis=1)).sort_values(ascending=False)
    parted = gap[gap > spread].index
    parts = [f"{t} ({', '.join(f'{m} {fmt_pct(rates.loc[t, m])}' for m in rates.columns)})"
             for t in parted]
    rest = (f"On {len(rates) - len(parted)} of the {len(rates)} tasks every method's mean "
            f"success lies within {100 * spread:.0f} points of the others'")
    if not parts:
        return rest + "."
    return (rest + "; they part ways on " + "; ".join(parts) + ", the widest gap first.")


def average(rows: pd.DataFrame, sigma: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Per method: the 15-task average success at noise ``sigma`` with its hierarchical
    bootstrap 95% CI, beside the paper's reported average where there is one."""
    part = per_task(rows[np.isclose(rows.sigma, sigma)])
    out = []
    for label, g in part.groupby("label", sort=False):
        try:
            mean, lo, hi = task_average(g, seed)
        except ValueError as e:
            raise ValueError(f"{label}: {e}") from e
        out.append({"label": label, "method": g.method.iloc[0], "tasks": g.task.nunique(),
                    "seeds": g.seed.nunique(), "success": mean, "ci_low": lo, "ci_high": hi,
                    "reported": REPORTED.get(label, np.nan)})
    frame = pd.DataFrame(out)
    return frame.set_index("label").reindex(report_paper.present(frame))


def average_table(avg: pd.DataFrame) -> Styler:
    """The averages, ours over the paper's reported one where it has one."""
    cells = pd.DataFrame({
        "15-task average (ours)": [rate_cell(r.success, r.ci_low, r.ci_high)
                                   for r in avg.itertuples()],
        "paper": [fmt_pct(v) for v in avg.reported],
    }, index=avg.index.rename("method"))
    return cells.style.set_table_styles(tables.CELL_CSS)


def average_sentence(avg: pd.DataFrame) -> str:
    """Where ACT-JEPA (paper)'s measured average falls against the paper's reported one."""
    label = row_label("actjepa_paper")
    if label not in avg.index:
        return f"No {label} rows: nothing to set against the paper's {fmt_pct(REPORTED[label])}."
    r = avg.loc[label]
    where = claim_position(r.reported, r.ci_low, r.ci_high)
    return (f"{label} averages {fmt_pct(r.success)} [{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}] "
            f"over the 15 tasks ({int(r.seeds)} training seeds); the paper reports "
            f"{fmt_pct(r.reported)}: {where}.")


def noise_summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The 15-task average of every method at every test noise level (for the noise figure)."""
    parts = [average(rows, s, seed).reset_index().assign(sigma=s)
             for s in sorted(rows.sigma.unique())]
    return pd.concat(parts, ignore_index=True)


def protocol_sentence(rows: pd.DataFrame, P) -> str:
    """What the comparison's rows hold: methods, demonstrations, seeds, episodes, budget."""
    clean = per_task(rows[rows.sigma == 0])
    per_cell = clean.groupby(["label", "seed", "task"]).size()
    sigmas = ", ".join(f"{s:g}" for s in sorted(rows.sigma.unique()))
    return (f"Profile **{P.name}**: {rows.label.nunique()} methods, one multi-task policy each "
            f"over {clean.task.nunique()} tasks; demonstrations per task: {P.mw_demos_per_task} "
            f"({P.mw_demos_per_task * len(MT15)} in all, collected with action noise "
            f"{P.demo_action_noise:g}); training seeds: {rows.seed.nunique()}; held-out test "
            f"episodes per task, seed and noise level: {int(per_cell.min())} "
            f"(σ = {sigmas}); the chunked methods at the Fetch comparison's budget of "
            f"{P.policy_steps:,} optimiser steps with its tuned settings.")


def unreachable_list() -> str:
    """The paper's other benchmarks and why the book leaves them out, as a Markdown list."""
    return "\n".join(f"- **{name}** {why}." for name, why in UNREACHABLE.items())


def sanity_gate(profile: str, comparison: str = "converged") -> pd.DataFrame | None:
    """Chapter 12's gate, on Meta-World: Reach off the Fetch comparison at one budget (the
    easy task, the same implementation), convergence at each method's budget here (its
    15-task validation success against the interval at twice that budget, over the training
    seeds of ``paper_metaworld_convergence``: the budget was read off the Fetch curves), and
    collapse off the Meta-World runs. None until both comparisons have today's results."""
    fetch = current_results(report_paper.COMPARISONS["equal"].success, profile)
    if fetch is None:
        return None
    return report_paper.comparison_gate(COMPARISONS[comparison], profile,
                                        reach=fetch[fetch.sigma == 0])


def check_summary(profile: str) -> pd.DataFrame | None:
    """Each chunked method's 15-task validation success at every budget its convergence
    checks measured (``report_paper.check_curves``), with the gate's interval over training
    seeds: the points of chapter 14's learning-curve figure. None before the first check."""
    curves = report_paper.check_curves(COMPARISONS["converged"], profile)
    return None if curves is None else report_paper.curve_summary(curves, seed_interval)


def convergence_sentence(budget: int) -> str:
    """What the convergence check compares, with the budgets."""
    return (f"Validation success over the 15 tasks at {budget:,} optimiser steps against the "
            f"95% interval at {CURVE_FACTOR * budget:,}; a method whose success still rises "
            f"beyond that interval fails the gate here, and the claims that compare it are "
            f"not testable on Meta-World.")
