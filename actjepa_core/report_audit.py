"""What chapter 10 (the claims audit) shows and says, as tested functions.

The claims and their verdicts come from ``audit`` (the article's claims, with ``audit_paper``'s
for the paper) and the verdict words and rules from ``verdicts``; this module only picks rows
of that table, counts them and words them. So a notebook cell is a call, and the rule behind
every sentence of the chapter is tested here rather than hidden in a cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pandas.io.formats.style import Styler

from . import analysis, audit, report_metaworld, report_paper, tables
from .evaluate import summarize
from .gate import GATE_TASK, MIN_REACH, gate_table, standing
from .plots.audit import VERDICT_COLORS
from .profiles import Profile, get_profile
from .results import current_results, experiment_results, spec_field
from .suites import BASELINES
from .verdicts import RULES, fmt_pct

KEY_CLAIMS: dict[str, str] = {
    "main/best_of_five": "ACT-JEPA + BC is the best of the five",
    "noise/most_graceful": "it degrades the most gracefully under noise",
    "ablations/no_ema_collapses": "without the EMA it collapses",
}
"""The three claims the article's story rests on: the audit row's id -> how the chapter's
prose names the claim. Rows are found by id (``claim``), never by their wording."""

SHOWN = ["claim", "claimed", "ours", "verdict"]
"""The columns of the audit table that the chapter's per-section tables show."""

CONVERGENCE = "convergence"
"""The experiment behind the article gate's convergence check (as ``report_paper.CONVERGENCE``
is the chunked methods')."""


@dataclass(frozen=True)
class AuditInputs:
    """The episode rows behind the audit and the audit table built from them.

    The chapter's numbers all come from these, so they are read once, in ``load``, and every
    function below takes what it needs from them.
    """

    profile: Profile
    main: pd.DataFrame
    ablations: pd.DataFrame
    data_efficiency: pd.DataFrame
    table: pd.DataFrame
    gate: pd.DataFrame
    """``article_gate`` of the main table's methods on states."""
    pixels: pd.DataFrame | None = None
    """``audit.pixel_audit`` of the pixel suite; None where it has no results yet."""
    pixel_gate: pd.DataFrame | None = None
    """``article_gate`` of the pixel suite's methods (no learning curves there)."""


def article_gate(clean: pd.DataFrame, convergence: pd.DataFrame | None,
                 convergence_from: str | None = None) -> pd.DataFrame:
    """``gate.gate_table`` of the main table's methods: clean test success on Reach from
    ``clean`` (the main table's, or the pixel suite's rows at sigma 0 with state task
    names), convergence from ``convergence`` (validation episodes at the protocol's budget
    and at twice it; None: the experiment ``convergence_from`` has no results yet, so the
    check is pending, or, with no such experiment, not measured, so no method passes),
    collapse from the last monitor reading of each pretrained encoder. A budget is counted
    in BC-head steps; the pretraining has as many (``suites.article_convergence_specs``
    doubles both)."""
    def steps(rows: pd.DataFrame) -> pd.Series:
        return spec_field(rows, lambda s: s["bc_steps"]).astype(int)

    budgets = steps(clean).groupby(clean.method).median().astype(int).to_dict()
    width = spec_field(clean, lambda s: (s["resolved"]["jepa"] or {}).get("repr_dim"))
    dims = width.groupby(clean.method).first().dropna().astype(int).to_dict()
    curves = None if convergence is None else convergence.assign(steps=steps(convergence))
    labels = {m: BASELINES[m] for m in BASELINES if m in budgets}
    waits = {m: convergence_from for m in labels} if curves is None and convergence_from else {}
    return gate_table(clean, curves, budgets, labels, latent_dims=dims,
                      latent_parts=("encoder",), waits_for=waits)


def load(profile: str) -> AuditInputs:
    """The results of ``profile`` (committed ones for the full profile) and their audit.

    The paper's experiments enter only when their results exist (``current_results``):
    without them the paper's claims are "not testable yet" rather than recomputed for hours;
    with them, the sanity gate (``report_paper.sanity_gate``) decides which can be judged.
    The paper's claims are judged on the converged comparisons (``report_paper.COMPARISONS``,
    ``report_metaworld.COMPARISONS``), whose every method has flattened.
    """
    main = experiment_results("main", profile)
    ablations = experiment_results("ablations", profile)
    data_efficiency = experiment_results("data_efficiency", profile)
    fetch, mw = report_paper.COMPARISONS["converged"], report_metaworld.COMPARISONS["converged"]
    main_gate = article_gate(main[main.sigma == 0], current_results(CONVERGENCE, profile),
                             CONVERGENCE)
    table = audit.audit(main, ablations, data_efficiency, main_gate,
                        paper_main=current_results(fetch.success, profile),
                        world_model=current_results(fetch.world_model, profile),
                        gate=report_paper.comparison_gate(fetch, profile),
                        metaworld=current_results(mw.success, profile),
                        metaworld_gate=report_metaworld.sanity_gate(profile, "converged"))
    pixel_rows = current_results("pixels", profile)
    pixels = pixel_gate = None
    if pixel_rows is not None:
        pixel_gate = article_gate(analysis.as_state_tasks(pixel_rows[pixel_rows.sigma == 0]), None)
        pixels = audit.pixel_audit(pixel_rows, pixel_gate)
    return AuditInputs(get_profile(profile), main, ablations, data_efficiency, table, main_gate,
                       pixels, pixel_gate)


def distinct_episodes(*rows: pd.DataFrame) -> int:
    """Evaluation episodes behind several experiments' rows, each counted once.

    A run can belong to two experiments (the full model is a main-table run and an ablation
    row), so the episode rows are told apart by run (``spec_key``), noise level and episode.
    """
    return len(pd.concat(rows).drop_duplicates(["spec_key", "sigma", "episode"]))


def protocol_sentence(inputs: AuditInputs) -> str:
    """How much evidence stands behind the audit: seeds, episodes per seed, claims."""
    episodes = distinct_episodes(inputs.main, inputs.ablations, inputs.data_efficiency)
    return (f"Profile **{inputs.profile.name}**: {inputs.main.seed.nunique()} training seeds per "
            f"row, {inputs.profile.eval_episodes} held-out evaluation episodes per seed; "
            f"{episodes:,} distinct evaluation episodes behind **{len(inputs.table)} claims**.")


def rules_list() -> str:
    """``verdicts.RULES`` as a Markdown list: the chapter prints the rules the code applies."""
    return "\n".join(f"- **{kind}**: {rule}." for kind, rule in RULES.items())


def success_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The article's single success rates in the audit, each with the main-table label of its
    method (the audit's ``label`` column), which must be one of ``suites.BASELINES``; the
    paper's (its Meta-World average) are left out."""
    cells = table[(table.kind == "success rate") & ~table.section.str.startswith("paper")]
    unknown = set(cells.label) - set(BASELINES.values())
    if unknown:
        raise ValueError(f"success-rate claims of no known method: {sorted(map(str, unknown))}")
    return cells


def claimed_minus_ours(table: pd.DataFrame) -> pd.Series:
    """Mean of (the article's number - ours) over the success rates measured here, for
    ACT-JEPA + BC and for the other methods together: whether the article leans one way.
    A group with no measured cell is NaN."""
    cells = success_cells(table)
    act = BASELINES["actjepa"]
    group = cells.label.eq(act).map({True: act, False: "other methods"})
    return (cells.claimed_value - cells.value).groupby(group).mean().reindex([act, "other methods"])


def _gap_words(gap: float) -> str:
    """``3.1 points above`` / ``below`` ours, or that no cell of the group was measured."""
    if pd.isna(gap):
        return "not comparable (no cell measured)"
    return f"{100 * abs(gap):.1f} points {'above' if gap > 0 else 'below'} ours"


def lean_sentence(table: pd.DataFrame) -> str:
    """Whether the article's success rates sit above or below ours, ACT-JEPA + BC apart."""
    gap = claimed_minus_ours(table)
    return (f"On average over its success-rate cells the article's number is "
            f"{_gap_words(gap['ACT-JEPA + BC'])} for ACT-JEPA + BC and "
            f"{_gap_words(gap['other methods'])} for the other methods.")


def verdicts_paragraph(table: pd.DataFrame) -> str:
    """The verdict counts (``audit.verdict_counts``), then where the article's single success
    rates fall against our intervals (measured, whether or not the gate lets them decide),
    then which way they lean."""
    counts = audit.verdict_counts(table)
    cells = success_cells(table)
    measured = cells.dropna(subset=["ci_low", "ci_high"])
    inside = sum(analysis.inside(c, lo, hi) for c, lo, hi in
                 zip(measured.claimed_value, measured.ci_low, measured.ci_high))
    above = int((cells.claimed_value > cells.ci_high).sum())
    below = int((cells.claimed_value < cells.ci_low).sum())
    untested = int((cells.ours == "not run").sum())
    return (f"Of the **{len(table)}** claims, **{counts['holds']} hold**, **{counts['partly']} "
            f"hold partly**, **{counts['does not hold']} do not hold**, "
            f"**{counts['not testable']}** are not testable (a method they compare fails the "
            f"sanity gate) and **{counts['not testable yet']}** cannot be tested yet. Of the "
            f"{len(cells)} single "
            f"success rates, {inside} lie inside our 95% interval; for {above} the article's "
            f"number is above our interval, for {below} it is below"
            + (f", and {untested} were not run in this profile" if untested else "") + ". "
            + lean_sentence(table))


def article_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The audit's rows of the article's claims (its results section), the paper's left out."""
    return table[~table.section.str.startswith("paper")]


def gate_sentence(gate: pd.DataFrame, judged: pd.DataFrame) -> str:
    """Which methods pass the sanity ``gate`` (``article_gate``), each failure with its
    figure, which wait for a check not run yet, and how many of the claims ``judged`` (audit
    rows) it leaves not testable."""
    state = standing(gate)
    passes, failing, waiting = state == "passes", gate[state == "fails"], gate[state == "waits"]
    failures = "; ".join(f"{r.label}: {r.reason}" for r in failing.itertuples())
    pending = "; ".join(f"{r.label} ({r.pending})" for r in waiting.itertuples())
    blocked = int((judged.verdict == "not testable").sum())
    return (f"**{int(passes.sum())} of {len(gate)}** methods pass the sanity gate"
            + (f" ({', '.join(gate[passes].label)})" if passes.any() else "")
            + (f". Failing: {failures}" if failures else "")
            + (f". Waiting for a check not run yet: {pending}" if pending else "")
            + f". It leaves **{blocked} of {len(judged)}** claims not testable.")


def reach_variants_sentence(ablations: pd.DataFrame) -> str:
    """ACT-JEPA + BC's clean success on Reach as the article builds it (the ablation table's
    ``full`` row), then which single changes of chapter 8 (its ablations and remedies) reach
    the gate's threshold and which stay below, each with its mean: how fragile a failure of
    the gate is. The variants are not the article's method and do not replace it."""
    reach = ablations[(ablations.task == GATE_TASK) & (ablations.sigma == 0)]
    summary = summarize(reach, by=("label",)).set_index("label").success
    if "full" not in summary:
        raise ValueError("the ablation rows have no 'full' row on Reach")
    full, others = summary["full"], summary.drop(["full", "concat"], errors="ignore")
    others = others.sort_values(ascending=False)

    def listing(rows: pd.Series) -> str:
        return ", ".join(f"`{name}` {fmt_pct(v)}" for name, v in rows.items()) or "none"

    return (f"As the article builds it, ACT-JEPA + BC solves Reach in {fmt_pct(full)} of clean "
            f"test episodes. The single changes of chapter 8 that reach {fmt_pct(MIN_REACH)}: "
            f"{listing(others[others >= MIN_REACH])}; below it: "
            f"{listing(others[others < MIN_REACH])}.")


def _verdict_css(verdict: str) -> str:
    """A verdict cell's background: the verdict's colour of the figures, made light."""
    return f"background-color: {VERDICT_COLORS[verdict]}33; white-space: nowrap"


def _section(table: pd.DataFrame, section: str) -> pd.DataFrame:
    """The claims of ``section``; an unknown section is an error, not an empty table."""
    if section not in set(table.section):
        raise ValueError(f"no claims in section {section!r}; sections: "
                         f"{list(dict.fromkeys(table.section))}")
    return table[table.section == section]


def section_table(table: pd.DataFrame, section: str) -> Styler:
    """The claims of one section (``SHOWN`` columns), verdicts coloured as in the figures."""
    return (tables.wrapped(_section(table, section)[SHOWN]).hide(axis="index")
            .map(_verdict_css, subset=["verdict"]))


def section_tally(table: pd.DataFrame, section: str) -> str:
    """``"<section>: 3 hold, 1 partly, 2 do not"``, and how many are not testable (the gate)
    or not testable yet (no results) when any are."""
    c = audit.verdict_counts(_section(table, section))
    return (f"{section}: {c['holds']} hold, {c['partly']} partly, {c['does not hold']} do not"
            + (f", {c['not testable']} not testable" if c["not testable"] else "")
            + (f", {c['not testable yet']} not testable yet" if c["not testable yet"] else ""))


def claim(table: pd.DataFrame, claim_id: str) -> pd.Series:
    """The row of the key claim ``claim_id`` (a key of ``KEY_CLAIMS``); an error naming the id
    when the table has no such row or several."""
    if claim_id not in KEY_CLAIMS:
        raise ValueError(f"unknown claim id {claim_id!r}; choose one of {list(KEY_CLAIMS)}")
    rows = table[table.id == claim_id]
    if len(rows) != 1:
        raise ValueError(f"claim {claim_id!r} matches {len(rows)} rows of the audit, not one")
    return rows.iloc[0]


def sections_paragraph(table: pd.DataFrame) -> str:
    """One tally per section (in table order), then the verdicts on the three key claims."""
    tallies = "\n".join(f"- {section_tally(table, s)}." for s in dict.fromkeys(table.section))
    rows = {cid: claim(table, cid) for cid in KEY_CLAIMS}
    keys = "; ".join(f"*{KEY_CLAIMS[cid]}* — {r.verdict} ({r.ours})" for cid, r in rows.items())
    return f"{tallies}\n\nThe three claims the article builds its story on: {keys}."


def hyperparameter_paragraph(hp: pd.DataFrame, steps: int) -> str:
    """How many of the article's hyperparameters (``audit.hyperparameters``) it marks as the
    paper's and how many as inferred, and what that means for the book's choices."""
    marks = hp.source.value_counts()
    return (f"Of the article's {len(hp)} hyperparameters listed here, **{marks.get('Paper', 0)}** "
            f"are marked as reported by the paper and **{marks.get('Inferred', 0)}** as inferred. "
            "The reported ones are the shapes of things (an MLP encoder, a 2-layer action "
            "encoder, a 2–3 layer predictor fed by concatenation or sum); every number that sets "
            "the scale of training — width, learning rate, batch size, warmup, EMA momentum — is "
            "inferred. Where the article gives a range, the book takes a value inside it, and it "
            f"uses a step count of its own for every method, {steps} in this profile, where the "
            "article says only \"task-dependent, moderate\".")


# ------------------------------------------------------------------------------ on pixels
def modality_table(table: pd.DataFrame, pixels: pd.DataFrame | None) -> pd.DataFrame:
    """Each claim of ``audit.PIXEL_SECTIONS``: ours and the verdict on states, the same on
    frames (``pixels/<id>`` of ``audit.pixel_audit``; "not testable yet" without it), and
    whether the modality changes the verdict."""
    states = table[table.section.isin(audit.PIXEL_SECTIONS)]
    cols = ["id", "section", "claim", "claimed", "ours", "verdict"]
    if pixels is None:
        pix = states[["id"]].assign(pixels_ours="not run", pixels_verdict="not testable yet")
    else:
        pix = (pixels.assign(id=pixels.id.str.removeprefix("pixels/"))[["id", "ours", "verdict"]]
               .rename(columns={"ours": "pixels_ours", "verdict": "pixels_verdict"}))
    out = states[cols].merge(pix, on="id", how="left", validate="one_to_one")
    tested = out.pixels_verdict != "not testable yet"
    out["changed"] = tested & (out.verdict != out.pixels_verdict)
    return out


def _modality_cell(ours: str, verdict: str) -> str:
    return f"{ours}<br><small>{verdict}</small>"


def modality_styler(modality: pd.DataFrame, section: str) -> Styler:
    """One section of ``modality_table``: the claim with the claimed number under it, then
    ours with the verdict under it on states and on pixels; a changed verdict in bold."""
    rows = modality[modality.section == section]
    shown = pd.DataFrame({
        "claim": [f"{c}<br><small>claimed {n}</small>" for c, n in zip(rows.claim, rows.claimed)],
        "states": [_modality_cell(o, v) for o, v in zip(rows.ours, rows.verdict)],
        "pixels": [_modality_cell(o, f"<b>{v}</b>" if c else v)
                   for o, v, c in zip(rows.pixels_ours, rows.pixels_verdict, rows.changed)],
    })
    return (shown.style.hide(axis="index").set_table_styles(tables.CELL_CSS)
            .set_properties(subset=["claim"], **{"text-align": "left"}))


def modality_paragraph(modality: pd.DataFrame) -> str:
    """The verdict counts on states and on pixels for the same claims, and which change."""
    if (modality.pixels_verdict == "not testable yet").all():
        return ("The pixel suite has no results in this profile yet, so every claim's pixel "
                "verdict is *not testable yet*; `python -m actjepa_core reproduce --profile full "
                "--experiments pixels` computes them.")
    counts = {"states": audit.verdict_counts(modality),
              "pixels": audit.verdict_counts(modality.assign(verdict=modality.pixels_verdict))}
    words = {m: ", ".join(f"*{v}* {c[v]}" for v in c.index if c[v]) for m, c in counts.items()}
    changed = modality[modality.changed]
    listing = "; ".join(f"{r.claim}: {r.verdict} → {r.pixels_verdict}"
                        for r in changed.itertuples())
    return (f"Of the **{len(modality)}** main-table and noise claims, on states: {words['states']}; "
            f"on pixels: {words['pixels']}. The modality changes **{len(changed)}** verdicts"
            + (f" ({listing})." if len(changed) else ".")
            + f" The other {len(modality) - len(changed)} keep their verdict.")
