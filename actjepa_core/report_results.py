"""What chapters 5 and 6 say of the frozen encoders and the policies on them, as tested
functions: probes of each encoder, the goal-input rule, and the sentences whose wording
depends on results."""

from __future__ import annotations

import pandas as pd

from .envs import TASKS
from .methods.registry import row_label
from .tables import HEADERS
from .verdicts import POSITIONS

GOAL_R2 = 0.95
"""Chapter 5's rule, fixed before any run: the BC head also gets the goal directly when a
linear read-out recovers it from the frozen ACT-JEPA representation with R² below this on
any task (the goal is an input the policy cannot do without)."""


def short_label(label: str) -> str:
    """A method's label without what the table's title already says (" + BC", "(no
    pretraining)", "latent prediction"), so five representations fit side by side as column
    headers."""
    return (label.removesuffix(" + BC").replace(" (no pretraining)", "")
            .replace(" latent prediction", ""))


def probe_table(probes: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Held-out R² per (task, target) and representation (short labels), three decimals."""
    table = probes.pivot_table(index=["task", "target"], columns="label", values="r2")
    table = table.reindex(columns=order) if order else table
    return table.rename(columns=short_label).rename_axis(columns=HEADERS["label"]).round(3)


def needs_goal_input(probes: pd.DataFrame, encoder: str = "ACT-JEPA encoder") -> tuple[bool, str]:
    """Whether the BC head must also see the goal (``GOAL_R2``), and the sentence saying why."""
    goal = probes[(probes.label == encoder) & (probes.target == "goal")].set_index("task")["r2"]
    needed = bool((goal < GOAL_R2).any())
    return needed, (f"Lowest goal R² of the frozen ACT-JEPA representation: **{goal.min():.3f}** "
                    f"({goal.idxmin()}). The BC head therefore "
                    + ("**also receives the goal directly**." if needed
                       else "**sees the representation alone**."))


def most_lost(probes: pd.DataFrame, encoder: str, reference: str) -> tuple[str, str]:
    """The (task, target) quantity of the state whose R² drops most from ``reference`` to
    ``encoder``; the expert's action is left out (it is not a quantity of the state)."""
    r2 = probes.pivot_table(index=["task", "target"], columns="label", values="r2")
    state = r2.drop(index="expert action", level="target", errors="ignore")
    return (state[reference] - state[encoder]).idxmax()


def best_protocol_sentence(summary: pd.DataFrame) -> str:
    """The protocol with the highest mean success on each task."""
    best = summary.loc[summary.groupby("task")["success"].idxmax()]
    return "Best protocol per task: " + "; ".join(
        f"**{t}**: {m} ({s:.1%})" for t, m, s in zip(best.task, best.label, best.success)) + "."


def extraction_paragraph(summary: pd.DataFrame, probes: pd.DataFrame) -> str:
    """ACT-JEPA + BC against raw + BC per task, and the state quantity the frozen encoder
    loses most against the raw observation."""
    by = summary.set_index(["task", "label"])["success"]
    tasks = [t for t in TASKS if t in set(summary.task)]
    gap = {t: by[(t, row_label("actjepa"))] - by[(t, "raw + BC")] for t in tasks}
    below = sum(g < 0 for g in gap.values())
    enc, raw = "ACT-JEPA encoder", "raw observation"
    task, target = most_lost(probes, enc, raw)
    r2 = probes.set_index(["task", "target", "label"])["r2"]
    return (f"ACT-JEPA + BC is below raw BC on **{below} of {len(gap)}** tasks ("
            + ", ".join(f"{t}: {100 * g:+.1f} points" for t, g in gap.items()) + "). "
            f"Against the raw observation, the frozen ACT-JEPA representation loses most of the "
            f"{target} of {task} (R² {r2[(task, target, enc)]:.2f}, against "
            f"{r2[(task, target, raw)]:.2f} from the raw observation): what a linear read-out "
            "cannot recover, a small head on the frozen encoder has to recover from a distorted "
            "code.")


def ranking_paragraph(table: pd.DataFrame) -> str:
    """Chapter 6: methods ranked by task-average success, whether ACT-JEPA + BC is first (as
    the article claims), and where the article's numbers fall against our intervals
    (``verdicts.beside_claimed``'s ``position`` column)."""
    ranked = table[table.task == "average"].sort_values("success", ascending=False)
    counts = table.position.value_counts()
    first = ranked.method.iloc[0] == "actjepa"
    return ("Ranked by average success: "
            + ", ".join(f"{r.label} ({r.success:.1%})" for r in ranked.itertuples())
            + f". ACT-JEPA + BC is **{'first' if first else 'not first'}**; the article claimed "
            f"it first with 75.3%. Of the {len(table)} cells, the article's number lies within "
            f"our 95% CI in {counts.get(POSITIONS[0], 0)}, above it in "
            f"{counts.get(POSITIONS[1], 0)} and below it in {counts.get(POSITIONS[2], 0)}.")


def lost_paragraph(probes: pd.DataFrame, table: pd.DataFrame, order: list[str]) -> str:
    """Chapter 6: the state quantity the frozen ACT-JEPA encoder loses most against the raw
    observation, every representation's R² of it, both policies' success on that task, and
    whether the passive predictor (the same objective without the action) keeps more of it."""
    act, raw, passive = row_label("actjepa"), row_label("raw"), row_label("passive")
    task, target = most_lost(probes, act, raw)
    r2 = probes.set_index(["task", "target", "label"])["r2"]
    others = ", ".join(f"{m.split(' +')[0]} {r2[(task, target, m)]:.2f}" for m in order if m != act)
    success = table.set_index(["task", "method"])["success"]
    passive_keeps = r2[(task, target, passive)] > r2[(task, target, act)]
    return (f"The frozen ACT-JEPA encoder loses most, against the raw observation, on the "
            f"{target} of {task}: a linear read-out recovers it with R² "
            f"{r2[(task, target, act)]:.2f} (the other representations: {others}). On {task} "
            f"ACT-JEPA + BC reaches {success[(task, 'actjepa')]:.1%}, against "
            f"{success[(task, 'raw')]:.1%} for raw BC. Nothing in the latent prediction "
            "objective requires the encoder to keep this quantity with the precision a policy "
            "needs; the passive predictor, the same objective without the action, keeps "
            + ("more of it here." if passive_keeps else "no more of it."))
