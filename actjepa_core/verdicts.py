"""The verdicts of the claims audits and the rules that decide them, shared by both audits.

``audit`` (the article's claims) and ``audit_paper`` (the paper's) judge every claim with the
functions here, so one vocabulary (``VERDICTS``) and one rule per kind of claim hold across the
result chapters and the audit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .analysis import fmt_ci, inside
from .gate import gate_failure, gate_pending


VERDICTS = ("holds", "partly", "does not hold", "not testable", "not testable yet")
"""The verdicts, in the order the chapter counts them. "not testable": a method the claim
compares fails the sanity gate (``gate``), so its numbers cannot decide it; "not testable
yet": the experiment behind the claim has no results."""

EQUIVALENCE = 0.05
"""Margin (success-rate units) within which two variants count as "about equal"."""

BOOTSTRAP = 4000
"""Resamples of the hierarchical bootstrap behind the retention intervals."""

RULES = {
    "success rate": "holds if the article's number lies inside our 95% CI; otherwise does not hold",
    "retention": "holds if the article's retention lies inside our 95% bootstrap CI; otherwise does not hold",
    "difference": "holds if the article's difference lies inside our 95% CI; partly if it lies "
                  "outside but our CI excludes zero on the article's side; otherwise does not hold",
    "direction": "holds if our 95% CI lies wholly on the claimed side of zero; partly if only "
                 "our mean does; otherwise does not hold",
    "equivalence": f"holds if our 95% CI lies within ±{100 * EQUIVALENCE:g} points; partly if it "
                   f"contains zero but reaches beyond; otherwise does not hold",
    "collapse": "holds if most runs end collapsed by the monitor's thresholds; partly if none "
                "or few do but the effective rank ends below half the full model's; otherwise "
                "does not hold",
    "ranking": "holds if what the article puts first is first by our means and the interval behind "
               "it excludes zero (a paired lead over the runner-up, a bootstrap lead in retention, "
               "or a positive advantage); partly if it is first by our means only; otherwise "
               "does not hold",
    "statement": "no experiment here can test it",
    "sanity gate": "any claim: not testable when a method it compares fails the sanity gate "
                   "(solves Reach, a flat learning curve at the budget, no collapsed latents), "
                   "whatever its numbers say; not testable yet while it fails none but waits for "
                   "a check whose runs have no results yet",
}
"""Each kind of claim and how its verdict is decided."""


def claim_row(claim_id: str, section: str, claim: str, kind: str, claimed: str,
              claimed_value: float | None, value: float | None = None, lo: float | None = None,
              hi: float | None = None, ours: str | None = None,
              verdict: str = "not testable yet") -> dict:
    """One row of an audit table: the claim's id (what code looks it up by; its wording is
    for readers and may change), the claim, the source's number, ours and the verdict."""
    return {"id": claim_id, "section": section, "claim": claim, "kind": kind, "claimed": claimed,
            "ours": ours or "—", "verdict": verdict, "claimed_value": claimed_value,
            "value": value, "ci_low": lo, "ci_high": hi}


def gate_rows(rows: list[dict], gate: pd.DataFrame | None,
              compared: Callable[[str], Sequence[str]]) -> list[dict]:
    """``rows`` as the sanity gate leaves them: a judged claim whose methods (``compared``:
    claim id -> methods) fail ``gate`` (``gate.gate_table``; None: not computed, so none
    passes) gets the verdict "not testable", the reason (``gate.gate_failure``) after our
    number; one whose methods fail nothing but wait for a check not yet run
    (``gate.gate_pending``) gets "not testable yet", with what it waits for. A claim not yet
    run stays "not testable yet"."""
    out = []
    for row in rows:
        if row["verdict"] == "not testable yet":
            out.append(row)
            continue
        methods = compared(row["id"])
        reason, waiting = gate_failure(gate, methods), gate_pending(gate, methods)
        verdict, why = (("not testable", reason) if reason else
                        ("not testable yet", waiting) if waiting else (None, None))
        out.append(row if verdict is None else
                   {**row, "verdict": verdict, "ours": f"{row['ours']}. {verdict.capitalize()}: {why}"})
    return out


def number_verdict(claimed: float, lo: float, hi: float) -> str:
    """Verdict on a single claimed number: inside our CI (``claim_position``) or not."""
    return "holds" if claim_position(claimed, lo, hi) == POSITIONS[0] else "does not hold"


POSITIONS = ("inside our CI", "above our CI", "below our CI")
"""Where a claimed number falls against our interval: the *why* beside a number's verdict
(inside: holds; above or below: does not hold), for tables and prose that say which way."""


def claim_position(claimed: float, lo: float, hi: float) -> str:
    """Which of ``POSITIONS`` the claimed number takes against our 95% CI ``[lo, hi]``."""
    if inside(claimed, lo, hi):
        return POSITIONS[0]
    return POSITIONS[1] if claimed > hi else POSITIONS[2]


def beside_claimed(summary: pd.DataFrame, claimed: pd.DataFrame, on: list[str] | tuple[str, ...]
                   ) -> pd.DataFrame:
    """Our summary (``success, ci_low, ci_high``) merged with the claims' ``claimed_success``,
    with the claim's ``verdict`` (``number_verdict``) and ``position`` (``claim_position``);
    a cell the source claims nothing for gets "—" in both."""
    out = summary.merge(claimed, on=list(on), how="left")
    out["ours"] = [fmt_ci(m, lo, hi) for m, lo, hi in zip(out.success, out.ci_low, out.ci_high)]
    out["claimed"] = [f"{100 * v:.1f}%" if pd.notna(v) else "—" for v in out.claimed_success]
    cells = list(zip(out.claimed_success, out.ci_low, out.ci_high))
    out["verdict"] = [number_verdict(*c) if pd.notna(c[0]) else "—" for c in cells]
    out["position"] = [claim_position(*c) if pd.notna(c[0]) else "—" for c in cells]
    return out


def difference_verdict(claimed: float, lo: float, hi: float) -> str:
    """Verdict on a claimed difference: its size, or failing that its direction."""
    if inside(claimed, lo, hi):
        return "holds"
    same_side = (lo > 0 and claimed > 0) or (hi < 0 and claimed < 0)
    return "partly" if same_side else "does not hold"


def direction_verdict(sign: int, mean: float, lo: float, hi: float) -> str:
    """Verdict on "the difference is positive" (``sign`` = 1) or negative (``sign`` = -1)."""
    if (lo > 0 if sign > 0 else hi < 0):
        return "holds"
    return "partly" if mean * sign > 0 else "does not hold"


def equivalence_verdict(lo: float, hi: float, margin: float = EQUIVALENCE) -> str:
    """Verdict on "about equal": our CI inside the margin, or at least containing zero."""
    if -margin <= lo and hi <= margin:
        return "holds"
    return "partly" if lo <= 0 <= hi else "does not hold"


def collapse_verdict(collapsed: int, runs: int, erank: float, reference_erank: float) -> str:
    """Verdict on "without the EMA target the representation collapses" (``RULES["collapse"]``):
    ``collapsed`` of ``runs`` end collapsed by the monitor's thresholds, with mean final
    effective rank ``erank`` against ``reference_erank`` for the full model. Chapter 4 and the
    audit both judge with this one rule."""
    if runs < 1:
        raise ValueError(f"need at least one run, got {runs}")
    if collapsed > runs / 2:
        return "holds"
    return "partly" if erank < reference_erank / 2 else "does not hold"


def fmt_pct(v: float) -> str:
    """A rate in percent, or a dash for a missing one."""
    return "—" if pd.isna(v) else f"{100 * v:.1f}%"


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The central 95% of the finite bootstrap samples (NaN, NaN when there are none)."""
    finite = samples[np.isfinite(samples)]
    return tuple(np.percentile(finite, [2.5, 97.5])) if finite.size else (float("nan"),) * 2


def fmt_points(d: float, lo: float | None = None, hi: float | None = None) -> str:
    """A difference in points (``+3.1 points``), with its interval when given."""
    text = f"{100 * d:+.1f} points"
    return text if lo is None else f"{text} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
