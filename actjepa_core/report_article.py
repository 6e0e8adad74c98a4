"""What chapters 4, 7 and 9 say of the article's claims, as tested functions.

Each function takes the summaries the chapter already shows and returns a table or the text
of a paragraph, so a notebook cell is a call and the rule behind each sentence is tested here.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from . import analysis, claims, tables
from .suites import ABLATIONS, BASELINES, NOISE_METHODS, REMEDIES
from .verdicts import RULES, beside_claimed, collapse_verdict

FULL, NO_EMA = "EMA, cosine 0.996 → 1", "no EMA"
"""Chapter 4's names of the default configuration and of the one without EMA."""


def claimed_retention() -> pd.DataFrame:
    """The article's retention success(σ) / success(0) per method (its ``method`` key) and σ,
    computed from its noise table; an error when that disagrees with the retention its prose
    states at σ = 0.30 (``claims.RETENTION_AT_030``) by more than rounding."""
    table = claims.noise_table().rename(columns={"claimed_success": "success"})
    ret = (analysis.retention(table)
           .rename(columns={"retention": "claimed_retention"})
           [["method", "sigma", "claimed_retention"]])
    at = ret[ret.sigma == max(claims.CLAIMED_SIGMAS)].set_index("method").claimed_retention
    stated = pd.Series(claims.RETENTION_AT_030)
    off = (at - stated).abs()
    if (off >= 5e-4).any():
        raise ValueError(f"the article's noise table and prose disagree on retention: "
                         f"{off[off >= 5e-4].to_dict()}")
    return ret


def retention_beside_claimed(avg: pd.DataFrame) -> pd.DataFrame:
    """Our retention per method and σ (from the task-average summary ``avg``, with
    ``label`` and ``method``) merged with the article's (``claimed_retention``)."""
    ours = analysis.retention(avg, by=("label", "method"))
    return ours.merge(claimed_retention(), on=("method", "sigma"), how="left")


def retention_table(ret: pd.DataFrame, order: list[str]) -> Styler:
    """Methods x noise levels above 0, each cell our retention over the article's."""
    noisy = ret[ret.sigma > 0]
    cells = [tables.rate_cell(a, claimed=b) for a, b in zip(noisy.retention,
                                                           noisy.claimed_retention)]
    return tables.stacked(noisy.assign(cell=cells), "label", "sigma", index_order=order,
                          column_name=tables.sigma_label)


def _versus(d: float) -> str:
    if d == 0:
        return "level with raw BC"
    return f"{100 * abs(d):.1f} percentage points {'higher' if d > 0 else 'lower'} than raw BC"


def _ranking(at: pd.DataFrame, s_max: float) -> str:
    """Methods ranked by our retention at ``s_max``, beside the article's stated ranking."""
    known = at.retention.dropna().sort_values(ascending=False)
    if known.empty:
        return "No method has a clean success above zero, so no retention is defined. "
    labels = at.label.to_dict()
    if "actjepa" not in known.index:
        lead = "ACT-JEPA + BC has no clean success, so no retention"
    elif known.index[0] == "actjepa":
        lead = "ACT-JEPA + BC retains the **largest** share"
    else:
        lead = "ACT-JEPA + BC does **not** retain the largest share"
    stated = sorted(claims.RETENTION_AT_030.items(), key=lambda kv: -kv[1])
    return (f"Ranked by retention at σ = {s_max:g}: "
            + ", ".join(f"{labels[k]} ({v:.1%})" for k, v in known.items()) + ". " + lead
            + "; the article states "
            + ", ".join(f"{labels.get(k, k)} {v:.1%}" for k, v in stated) + ". ")


def retention_paragraph(ret: pd.DataFrame) -> str:
    """The ranking by retention at the article's largest σ, then ACT-JEPA + BC against raw BC
    in absolute terms, clean and at that σ, ours beside the article's (point estimates)."""
    s_max = max(claims.CLAIMED_SIGMAS)
    at = ret[ret.sigma == s_max].set_index("method")
    clean = ret[ret.sigma == 0].set_index("method").success
    jepa, raw = at.loc["actjepa"], at.loc["raw"]
    gap0, gap = clean["actjepa"] - clean["raw"], jepa.success - raw.success
    claimed0 = claims.NOISE["actjepa"][0] - claims.NOISE["raw"][0]
    claimed = jepa.claimed_success - raw.claimed_success
    return (_ranking(at, s_max)
            + f"In absolute terms, at σ = {s_max:g} ACT-JEPA + BC succeeds in {jepa.success:.1%} "
            f"[{jepa.ci_low:.1%}, {jepa.ci_high:.1%}] of episodes and raw BC in {raw.success:.1%} "
            f"[{raw.ci_low:.1%}, {raw.ci_high:.1%}]: ACT-JEPA is {_versus(gap)} (the article: "
            f"{100 * claimed:+.1f} points). Clean, it is {_versus(gap0)} (the article: "
            f"{100 * claimed0:+.1f} points), so in our runs the difference ACT-JEPA minus raw BC "
            f"goes from {100 * gap0:+.1f} points clean to {100 * gap:+.1f} at σ = {s_max:g} (the "
            f"article: from {100 * claimed0:+.1f} to {100 * claimed:+.1f}); these are "
            f"differences of point estimates.")


TEST_ONLY, DEMOS_TOO = "test only", "demos too"
"""Chapter 7's two conditions, short enough for a table header: sensor noise at test time
only, and in the demonstrations as well as at test time."""


def noise_conditions(rows: pd.DataFrame, noisy: pd.DataFrame) -> pd.DataFrame:
    """Task-average success of the noise-table methods in both conditions at the noise levels
    of the noisy-demonstration runs (``noisy``); the test-only rows are the main runs
    (``rows``), so both conditions meet the same test episodes and noise draws."""
    test_only = rows[rows.method.isin(NOISE_METHODS) & rows.sigma.isin(noisy.sigma.unique())]
    both = pd.concat([test_only.assign(condition=TEST_ONLY), noisy.assign(condition=DEMOS_TOO)],
                     ignore_index=True)
    by = ("task", "label", "method", "sigma", "condition")
    cond = analysis.summarize_with_average(both, by=by)
    return cond[cond.task == "average"].reset_index(drop=True)


def noise_conditions_table(cond_avg: pd.DataFrame) -> Styler:
    """Methods x (σ, condition), each cell our rate over its 95% CI."""
    cells = [tables.rate_cell(m, lo, hi) for m, lo, hi in
             zip(cond_avg.success, cond_avg.ci_low, cond_avg.ci_high)]
    return tables.stacked(cond_avg.assign(cell=cells), "label", ["sigma", "condition"],
                          index_order=[BASELINES[m] for m in NOISE_METHODS],
                          column_name=lambda c: tables.sigma_label(c) if isinstance(c, float) else c)


def noisy_demo_paragraph(cond_avg: pd.DataFrame) -> str:
    """Per σ, how training on noisy demonstrations changes each method's task-average success
    (``cond_avg``: columns sigma, method, condition, success), as Markdown bullets."""
    wide = cond_avg.pivot_table(index=["sigma", "method"], columns="condition",
                                values="success")
    wide["change"] = wide[DEMOS_TOO] - wide[TEST_ONLY]
    lines = []
    for sigma, part in wide.groupby(level="sigma"):
        part = part.droplevel("sigma")
        up, down = int((part.change > 0).sum()), int((part.change < 0).sum())
        changes = ", ".join(f"{100 * part.change[m]:+.1f} points for {BASELINES[m]}"
                            for m in NOISE_METHODS if m in part.index)
        line = (f"- At σ = {sigma:g}, training on noisy demonstrations changes task-average "
                f"success by {changes}: higher for {up} of {len(part)} methods, lower for "
                f"{down}, unchanged for {len(part) - up - down}.")
        if {"actjepa", "raw"} <= set(part.index):
            noisy = part[DEMOS_TOO]
            line += (f" ACT-JEPA + BC is then at {noisy['actjepa']:.1%} and raw BC at "
                     f"{noisy['raw']:.1%}.")
        lines.append(line)
    return ("\n".join(lines) + "\n\nThese changes are differences of two means, each with the "
            "interval shown in the table above; a change smaller than those intervals is not "
            "evidence either way.")


def no_ema_paragraph(summary: pd.DataFrame, profile: str, steps: int) -> str:
    """Chapter 4's account of the no-EMA runs against the default EMA schedule.

    ``summary`` is ``analysis.summarize_final`` of the runs (index: configuration,
    ``FULL`` and ``NO_EMA`` among them) with a ``flagged readings`` column (collapse warnings
    of the online encoder during training). What happened is told first (collapsed at the
    end, collapsed and recovered, or never flagged); the verdict is ``verdicts.collapse_verdict``,
    the audit's rule.
    """
    ref, no_ema = summary.loc[FULL], summary.loc[NO_EMA]
    seeds, flagged = int(no_ema.seeds), int(no_ema["flagged readings"])
    collapsed = round(no_ema.collapsed * seeds)
    if collapsed:
        what = (f"**Without EMA the representation collapsed** in {no_ema.collapsed:.0%} of the "
                f"seeds by the end of training, by the monitor's thresholds.")
    elif flagged:
        what = (f"**Without EMA the representation collapsed during training and recovered.** "
                f"The monitor flagged {flagged} readings of the no-EMA runs, but no seed is "
                f"flagged at the end.")
    else:
        what = ("**Without EMA the representation did not collapse here**, by the monitor's "
                "thresholds: no reading of any seed was flagged.")
    verdict = collapse_verdict(collapsed, seeds, no_ema.online_erank, ref.online_erank)
    fixed = ", ".join(f"{summary.loc[name, 'online_erank']:.1f} ({name})"
                      for name in summary.index if name.startswith("τ ="))
    return (f"{what} By the audit's rule for this claim (chapter 10: {RULES['collapse']}), the "
            f"article's “Collapsed” **{verdict}** in these runs. At the end of training the "
            f"no-EMA encoder has an effective rank of {no_ema.online_erank:.1f} and a std of "
            f"{no_ema.online_std:.4f}, against {ref.online_erank:.1f} and {ref.online_std:.4f} "
            f"with the default EMA schedule; its lowest reading during training was an "
            f"effective rank of {no_ema.online_erank_lowest:.1f} (default EMA: "
            f"{ref.online_erank_lowest:.1f}). The fixed momenta end at {fixed}. These are "
            f"{seeds} seeds of {steps} steps in the `{profile}` profile.")


def no_ema_note(summary: pd.DataFrame) -> str:
    """What the no-EMA runs say about the stop-gradient and the bottleneck on their own."""
    no_ema = summary.loc[NO_EMA]
    if no_ema.collapsed > 0 or no_ema["flagged readings"] > 0:
        note = ("In these runs the stop-gradient and the bottleneck predictor were **not** "
                "enough on their own: the figures above show the no-EMA representation crossing "
                "the collapse thresholds while the EMA configurations keep their spread.")
    else:
        note = ("In these runs the stop-gradient and the bottleneck predictor **were** enough to "
                "keep the no-EMA representation from collapsing outright, at least for this "
                "number of steps and with a learning rate that decays to zero; the EMA still "
                "matters for how many directions the representation uses, as the effective "
                "ranks above show.")
    return note + (" Whether the representations are *useful* is measured by the policies of "
                   "the following chapters.")


# ------------------------------------------------------------------ chapter 9: data efficiency
def signed_points(v: float) -> str:
    """A difference of rates as a bare signed number of points (``+3.1``), or a dash where it
    is undefined (``verdicts.fmt_points`` adds the word and the interval)."""
    return "—" if pd.isna(v) else f"{100 * v:+.1f}"


def claimed_advantage() -> pd.Series:
    """The article's task-average advantage of ACT-JEPA + BC over raw BC per demonstration count."""
    return pd.Series({n: a - r for n, a, r in zip(claims.DEMO_COUNTS,
                                                  claims.DATA_EFFICIENCY["actjepa"],
                                                  claims.DATA_EFFICIENCY["raw"])}, name="article")


def advantage_table(adv_avg: pd.DataFrame) -> pd.DataFrame:
    """Per demonstration count (``adv_avg``: ``paired_difference`` of the task average, indexed
    by n_demos): our advantage in points, its interval, the article's, and the seeds paired."""
    claimed = claimed_advantage()
    return pd.DataFrame({
        "ours (points)": [signed_points(v) for v in adv_avg.difference],
        "95% CI": ["—" if pd.isna(lo) else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
                   for lo, hi in zip(adv_avg.ci_low, adv_avg.ci_high)],
        "article (points)": [signed_points(claimed.get(n)) for n in adv_avg.index],
        "seeds paired": adv_avg.units,
    }, index=pd.Index(adv_avg.index, name="demonstrations"))


def advantage_paragraph(adv_avg: pd.DataFrame) -> str:
    """Where ACT-JEPA + BC's task-average advantage over raw BC is largest, against the
    article's "largest at few demonstrations", and at which counts its interval excludes zero."""
    claimed = claimed_advantage()
    counts = sorted(adv_avg.index)
    best = adv_avg.difference.idxmax()
    smallest = counts[: max(1, len(counts) // 2)]
    above = adv_avg[adv_avg.ci_low > 0].index.tolist()
    below = adv_avg[adv_avg.ci_high < 0].index.tolist()
    lead = int((adv_avg.difference > 0).sum())
    where = ("one of the smaller counts, where the article puts it" if best in smallest
             else "not among the smaller counts, where the article puts it")
    if lead == 0:
        located = (f"ACT-JEPA + BC has no advantage to locate: at every count its mean is at or "
                   f"below raw BC's, by {-100 * adv_avg.difference.max():.1f} to "
                   f"{-100 * adv_avg.difference.min():.1f} points")
    else:
        located = (f"its advantage ranges from {100 * adv_avg.difference.min():+.1f} to "
                   f"{100 * adv_avg.difference.max():+.1f} points and is largest at **{best} "
                   f"demonstrations**, {where}")
    evidence = [f"lies wholly {side} zero at {', '.join(map(str, at))} demonstrations"
                for side, at in (("above", above), ("below", below)) if at]
    return (f"Task-averaged, ACT-JEPA + BC's mean is above raw BC's at {lead} of {len(adv_avg)} "
            f"demonstration counts; {located} (the article's own largest advantage is "
            f"{100 * claimed.max():+.1f} points at {claimed.idxmax()}). The 95% interval of the "
            "advantage " + (" and ".join(evidence) if evidence else "contains zero at every count")
            + ". Comparing the advantage between counts compares point estimates; whether it "
            "truly shrinks or grows with n would need the intervals above to separate.")


def advantage_by_task_table(adv: pd.DataFrame) -> pd.DataFrame:
    """Tasks x demonstration counts, each cell our advantage in points with its interval."""
    per_task = adv[adv.task != "average"]
    cells = [f"{signed_points(d)} [{signed_points(lo)}, {signed_points(hi)}]" if pd.notna(lo)
             else signed_points(d)
             for d, lo, hi in zip(per_task.difference, per_task.ci_low, per_task.ci_high)]
    return (per_task.assign(cell=cells).pivot(index="task", columns="n_demos", values="cell")
            .reindex(index=list(claims.TASKS)).rename(columns=lambda n: f"{n} demos"))


def worst_task_sentence(adv: pd.DataFrame) -> str:
    """The task and count where ACT-JEPA + BC does worst against raw BC, and what limits it."""
    worst = adv[adv.task != "average"].sort_values("difference").iloc[0]
    lead = ("ACT-JEPA + BC's largest deficit against raw BC" if worst.difference < 0 else
            "ACT-JEPA + BC leads raw BC at every task and count; its smallest lead")
    return (f"{lead} is on **{worst.task}** at {worst.n_demos} demonstrations: "
            f"{signed_points(worst.difference)} points [{signed_points(worst.ci_low)}, "
            f"{signed_points(worst.ci_high)}]. Chapter 6's linear probes show what a frozen ACT-JEPA "
            "encoder keeps of each task's state with 100 demonstrations; a BC head on that "
            "encoder can only use what the probe finds there, and fewer demonstrations give "
            "pretraining less to learn it from.")


# --------------------------------------------------------------------- chapter 8: ablations
def ablation_table(avg: pd.DataFrame) -> pd.DataFrame:
    """One row per ablation and remedy (``suites.ABLATIONS``, ``REMEDIES``), from task-averaged
    rows ``avg``: our success, its paired difference to the full model, the article's success
    and difference (its "Collapsed" for no EMA), and where the article's number falls."""
    average = avg[avg.task == "average"]
    summary = analysis.summarize(average, by=("label",))
    diffs = pd.concat([analysis.paired_difference(average, name, "full", key="label")
                       .assign(label=name) for name in [*ABLATIONS, *REMEDIES] if name != "full"],
                      ignore_index=True).rename(columns={"difference": "diff", "ci_low": "diff_low",
                                                         "ci_high": "diff_high"})
    claimed = pd.DataFrame({"label": list(claims.ABLATIONS),
                            "claimed_success": list(claims.ABLATIONS.values())})
    table = beside_claimed(summary, claimed, on=("label",)).merge(diffs, on="label", how="left")
    table["Δ vs full (ours)"] = [
        "—" if pd.isna(d) else f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        for d, lo, hi in zip(table["diff"], table.diff_low, table.diff_high)]
    table["Δ vs full (article)"] = [
        "—" if pd.isna(v) or name == "full" else f"{100 * (v - claims.ABLATIONS['full']):+.1f}"
        for name, v in zip(table.label, table.claimed_success)]
    table.loc[table.label == "no_ema", "claimed"] = "collapsed"
    return table


def ablation_display(table: pd.DataFrame, rows: list[str]) -> Styler:
    """``ablation_table`` as the chapter shows it, one row per name in ``rows``: success and
    the difference to the full model, each ours (bold, its 95% CI under it) over the
    article's, and where the article's success falls against our interval."""
    t = table.set_index("label").loc[rows]
    success = [tables.rate_cell(m, lo, hi, c) if name != "no_ema" else
               tables.rate_cell(m, lo, hi) + "<br><small>article collapsed</small>"
               for name, m, lo, hi, c in zip(t.index, t.success, t.ci_low, t.ci_high,
                                             t.claimed_success)]
    delta = [tables.points_cell(d, lo, hi)
             + ("" if pd.isna(d) or a == "—" else f"<br><small>article {a}</small>")
             for d, lo, hi, a in zip(t["diff"], t.diff_low, t.diff_high, t["Δ vs full (article)"])]
    shown = pd.DataFrame({"label": t.index, "success": success, "Δ vs full (points)": delta,
                          "article's success": [v if p == "—" else f"{v} (claim {p})"
                                                for v, p in zip(t.verdict, t.position)]})
    long = shown.melt(id_vars="label", var_name="column", value_name="cell")
    return tables.stacked(long, "label", "column", index_order=rows,
                          column_order=["success", "Δ vs full (points)", "article's success"])


def no_ema_runs_sentence(collapse: pd.DataFrame) -> str:
    """Chapter 8: how many no-EMA runs end collapsed (``audit.collapse_table``), their mean
    effective rank against the full model's, beside the article's word."""
    ne, full = collapse.loc["no_ema"], collapse.loc["full"]
    return (f"Without the EMA, **{int(ne.collapsed)} of {int(ne.runs)}** runs end collapsed "
            f"(mean effective rank {ne.erank:.1f} against {full.erank:.1f} for the full model); "
            "the article says the model collapses.")


def ablation_paragraph(table: pd.DataFrame) -> str:
    """The ablations whose difference to the full model has an interval excluding zero,
    beside the differences the article claims."""
    by_name = table.set_index("label")

    def said(name: str) -> str:
        r = by_name.loc[name]
        return f"{name} {100 * r['diff']:+.1f} points [{100 * r.diff_low:+.1f}, {100 * r.diff_high:+.1f}]"

    significant = [n for n in ABLATIONS if n != "full" and pd.notna(by_name.loc[n, "diff_high"])
                   and (by_name.loc[n, "diff_high"] < 0 or by_name.loc[n, "diff_low"] > 0)]
    claimed = ", ".join(f"{n} {100 * (v - claims.ABLATIONS['full']):+.1f}"
                        for n, v in claims.ABLATIONS.items()
                        if v is not None and n not in ("full", "concat"))
    return ("Against the full model, the differences whose 95% interval excludes zero are: "
            + (", ".join(said(n) for n in significant) if significant else "**none**")
            + f". The article claims: {claimed} points, and no EMA collapsed.")
