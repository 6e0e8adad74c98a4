"""The chunked comparison's budget and settings come from its validation experiments by the
rules in ``gate``, never by hand: the constants the specs use must be what the rules read off
the committed results (or the defaults while those results do not exist)."""

from __future__ import annotations

import pytest

from actjepa_core import report_metaworld, report_paper, suites
from actjepa_core.methods import registry
from actjepa_core.gate import CURVE_FACTOR, convergence_check, flattening_budget, tuned_value
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


@pytest.mark.parametrize("comparison", [report_paper.COMPARISONS["converged"],
                                        report_metaworld.COMPARISONS["converged"]],
                         ids=["fetch", "metaworld"])
def test_each_converged_budget_is_the_first_the_committed_checks_find_flat(comparison):
    """A method trains for 2x (4x) the budget only where the committed check at the budget
    (at 2x) finds it still learning; no method trains past a check with no results yet; and a
    committed check that finds a method still learning at its own budget is a budget to raise
    (a rung of ``suites.LONGER``)."""
    for method in suites.PAPER_CHUNKED:
        chosen = comparison.converged.get(method, 1)
        for factor, name in comparison.checks().items():
            if factor > chosen:
                break
            rows = current_results(name, "full")
            if rows is None:
                assert factor == chosen, f"{method} trains {chosen}x long before {name} is in"
                break
            flat, why = convergence_check(rows.assign(steps=report_paper.run_steps(rows)),
                                          method, factor * FULL.policy_steps)
            assert flat == (factor == chosen), f"{method}, check at {factor}x: {why}"


def test_the_converged_comparison_reuses_every_run_it_can():
    main = {s.key() for s in suites.paper_main_specs(FULL)}
    converged = suites.paper_main_converged_specs(FULL)
    assert len(converged) == len(main)
    for spec in converged:
        steps = suites.converged_steps(spec.method, FULL)
        if spec.method == "raw" or steps == FULL.policy_steps:
            assert spec.key() in main, spec  # the equal-budget run itself
        else:
            assert spec.method_config().steps == steps, spec
    # the longer models are the convergence checks' (one training, test and validation episodes)
    checks = [*suites.convergence_specs(FULL),
              *(s for f in suites.LONGER for s in suites.convergence_long_specs(FULL, f))]
    longer = {s.pretrain_key() for s in checks}
    assert all(s.pretrain_key() in longer for s in converged if s.method in suites.CONVERGED)
    # each longer check starts from the longer runs of the check below it
    below = {s.key() for s in suites.convergence_specs(FULL)}
    for factor in suites.LONGER:
        runs = suites.convergence_long_specs(FULL, factor)
        assert len([s for s in runs if s.key() in below]) == len(runs) // 2, factor
        below = {s.key() for s in runs}
    world = suites.paper_world_model_converged_specs(FULL)
    assert {s.key() for s in world} <= {s.key() for s in converged}
    assert {s.method for s in world} == set(suites.PAPER_DATA_METHODS)


def test_each_longer_check_holds_the_methods_trained_that_long_and_no_other():
    for long_specs, converged in ((suites.convergence_long_specs, suites.CONVERGED),
                                  (suites.metaworld_convergence_long_specs, suites.MW_CONVERGED)):
        for factor in suites.LONGER:
            specs = long_specs(FULL, factor)
            assert {s.method for s in specs} == {m for m, f in converged.items() if f >= factor}
            assert {s.method_config().steps for s in specs} <= {
                factor * FULL.policy_steps, CURVE_FACTOR * factor * FULL.policy_steps}
    with pytest.raises(ValueError, match=r"no convergence check at 3x .*suites.LONGER"):
        suites.convergence_long_specs(FULL, 3)
