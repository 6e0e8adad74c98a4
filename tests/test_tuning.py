"""The chunked comparison's budget and settings come from its validation experiments by the
rules in ``gate``, never by hand: the constants the specs use must be what the rules read off
the committed results (or the defaults while those results do not exist)."""

from __future__ import annotations

from actjepa_core import report_paper, suites
from actjepa_core.methods import registry
from actjepa_core.gate import CURVE_FACTOR, flattening_budget, tuned_value
from actjepa_core.profiles import get_profile
from actjepa_core.results import current_results

FULL = get_profile("full")


def test_tuned_settings_are_the_rule_s_choice_on_the_committed_search():
    search = current_results("paper_search", "full")
    if search is None:  # no search yet: nothing may have been chosen
        assert suites.TUNED == {}
        return
    chosen = tuned_value(search.assign(lr=report_paper.run_setting(search, "lr")), "lr")
    defaults = {m: registry.make_config(m, "reach").lr for m in chosen}
    for method, lr in chosen.items():
        assert suites.TUNED.get(method, {}).get("lr", defaults[method]) == lr, method


def test_the_budget_is_the_one_the_curves_flatten_at():
    assert FULL.policy_steps in FULL.curve_budgets
    assert CURVE_FACTOR * FULL.policy_steps <= max(FULL.curve_budgets)
    curves = report_paper.curve_rows("full")
    if curves is None:  # the curves are not all committed yet
        return
    flat = flattening_budget(curves, suites.PAPER_CHUNKED)
    assert FULL.policy_steps == (flat if flat is not None else max(
        b for b in FULL.curve_budgets if CURVE_FACTOR * b <= max(FULL.curve_budgets)))


def test_the_search_s_default_trials_are_the_curves_runs_at_the_budget():
    search = {s.key(): s for s in suites.search_specs(FULL)}
    curves = {s.key() for m in suites.PAPER_CHUNKED for s in suites.curve_specs(FULL, m)}
    shared = [s for k, s in search.items() if k in curves]
    defaults = {m: registry.make_config(m, "reach").lr for m in suites.PAPER_CHUNKED}
    assert len(shared) == len(search) // len(FULL.search_lrs)  # one rate of each method's
    assert all(s.method_config().lr == defaults[s.method] for s in shared)
    assert all(s.method_config().steps == FULL.policy_steps for s in shared)
