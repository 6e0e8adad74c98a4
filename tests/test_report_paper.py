"""What chapters 11-12 print: tables, sentences and the rule for full-profile results."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from actjepa_core import report_paper, tables
from actjepa_core.profiles import get_profile
from actjepa_core.results import current_results

TASKS = ("reach", "push", "pick_place")
LABELS = {"raw": "raw BC (no pretraining)", "act": "ACT", "diffusion_policy": "Diffusion Policy",
          "actjepa_paper": "ACT-JEPA (paper)"}


def rows(rates: dict[str, float], seeds: int = 3, n_eps: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.concat([pd.DataFrame({"task": t, "label": LABELS[m], "method": m, "seed": s,
                                    "sigma": sigma, "episode": np.arange(n_eps),
                                    "success": (rng.random(n_eps) < p).astype(float)})
                      for m, p in rates.items() for t in TASKS for s in range(seeds)
                      for sigma in (0.0, 0.1)], ignore_index=True)


def test_success_table_orders_methods_and_tasks():
    r = rows({"actjepa_paper": 0.5, "raw": 0.9, "act": 0.2})
    summary = report_paper.success_summary(r)
    table = report_paper.success_table(summary).data
    assert list(table.index) == ["raw BC (no pretraining)", "ACT", "ACT-JEPA (paper)"]
    assert list(table.columns) == ["reach", "push", "pick_place", "average"]
    act = summary[(summary.label == "ACT") & (summary.task == "push")].iloc[0]
    assert table.loc["ACT", "push"] == (f"<b>{100 * act.success:.1f}%</b><br><small>"
                                        f"[{100 * act.ci_low:.1f}, {100 * act.ci_high:.1f}]</small>")


def test_present_keeps_the_order_then_the_rest():
    s = pd.DataFrame({"label": ["no EMA target", "ACT-JEPA (paper)", "ACT"]})
    assert report_paper.present(s) == ["ACT", "ACT-JEPA (paper)", "no EMA target"]


def test_leader_sentence_names_the_best_per_task():
    r = rows({"actjepa_paper": 0.1, "act": 0.95})
    text = report_paper.leader_sentence(report_paper.success_summary(r))
    assert text.count("ACT (") == 4 and "ACT-JEPA (paper) (" not in text


def test_lead_table_is_treatment_minus_control():
    r = rows({"actjepa_paper": 1.0, "act": 0.0, "diffusion_policy": 1.0}, n_eps=20)
    lead = report_paper.lead_table(r)
    assert lead.data.loc["ACT", "average"].startswith("<b>+100.0</b><br><small>[")
    assert lead.data.loc["Diffusion Policy", "reach"].startswith("<b>+0.0</b>")
    assert list(lead.data.index) == ["ACT", "Diffusion Policy"]  # raw BC not in the rows


def test_future_sentence_follows_the_ratios():
    errors = pd.DataFrame({"j": [0, 1, 2], "ratio": [0.5, 0.9, 1.2]})
    text = report_paper.future_sentence(errors)
    assert "j = 0, 1 only" in text and "(R² 0.50)" in text and "(R² -0.20)" in text
    assert "every step" in report_paper.future_sentence(errors.assign(ratio=0.3))
    assert "no more than the average" in report_paper.future_sentence(errors.assign(ratio=2.0))


def test_loss_terms_long_and_refuses_a_history_without_terms():
    hist = pd.DataFrame({"step": [1, 2], "loss": [3.0, 2.0], "l1": [1.0, 0.5], "kl": [0.1, 0.1]})
    terms = report_paper.loss_terms(hist)
    assert set(terms.term) == {"l1", "kl"} and len(terms) == 4
    with pytest.raises(ValueError, match="none of the loss terms"):
        report_paper.loss_terms(hist[["step", "loss"]])


def test_probe_summary_interval_over_seeds():
    wm = pd.DataFrame({"task": "push", "label": "ACT", "seed": [0, 1, 2], "j": 1,
                       "r2": [0.4, 0.5, 0.6]})
    s = report_paper.probe_summary(wm).iloc[0]
    assert s.success == pytest.approx(0.5) and s.ci_low < 0.5 < s.ci_high and s.seeds == 3


def world(fit_reach: float) -> pd.DataFrame:
    """Two seeds x two methods x two tasks x j = 1, 2 of probe rows; ACT-JEPA's action fit
    on reach is ``fit_reach``, every other run's 0.5."""
    rows = [{"task": t, "label": m, "seed": s, "j": j, "r2": 0.3 + 0.1 * j,
             "action_r2": fit_reach if (t, m) == ("reach", "ACT-JEPA (paper)") else 0.5}
            for t in ("reach", "push") for m in ("ACT-JEPA (paper)", "ACT") for s in (0, 1)
            for j in (1, 2)]
    return pd.DataFrame(rows)


def test_action_fit_table_one_cell_per_run_not_per_probe_row():
    table = report_paper.action_fit_table(world(0.1))
    assert list(table.index) == ["ACT", "ACT-JEPA (paper)"]
    assert list(table.columns) == ["reach", "push"]
    assert table.loc["ACT-JEPA (paper)", "reach"].startswith("0.10 [")


def test_blind_decoder_sentence_names_only_the_tasks_below_half():
    text = report_paper.blind_decoder_sentence(world(0.1))
    assert "on reach" in text and "0.10" in text and "0.50 for ACT" in text
    assert "push" not in text
    assert "reads the observation" in report_paper.blind_decoder_sentence(world(0.3))


def test_full_profile_without_results_is_none_not_a_recomputation(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path))
    assert current_results("paper_main", "full") is None
    assert "reproduce --profile full --experiments paper_main" in report_paper.not_run_note("paper_main")


def test_protocol_sentence_reads_counts_from_rows_and_budget_from_the_profile():

    text = report_paper.protocol_sentence(rows({"act": 0.5, "raw": 0.5}, seeds=2, n_eps=7),
                                          get_profile("full"))
    assert "2 methods x 3 tasks" in text and "2 training seeds" in text and "7 held-out" in text
    assert f"{get_profile('full').policy_steps} steps of 64 windows" in text


def test_frozen_sentence_compares_each_head_with_its_policy():
    def row(task, method, m, lo, hi):
        return {"task": task, "label": method, "success": m, "ci_low": lo, "ci_high": hi}
    summary = pd.DataFrame([
        row("reach", "ACT-JEPA (paper)", 0.1, 0.05, 0.15),
        row("reach", "ACT-JEPA (paper) encoder, frozen + BC", 0.9, 0.8, 0.95),
        row("push", "ACT-JEPA (paper)", 0.6, 0.5, 0.7),
        row("push", "ACT-JEPA (paper) encoder, frozen + BC", 0.65, 0.55, 0.75),
        row("average", "ACT-JEPA (paper)", 0.35, 0.3, 0.4),
        row("average", "ACT-JEPA (paper) encoder, frozen + BC", 0.775, 0.7, 0.85),
    ])
    text = report_paper.frozen_sentence(summary)
    assert "77.5% [70.0, 85.0] on average against 35.0% [30.0, 40.0]" in text
    assert text.startswith("A BC head on ACT-JEPA (paper)'s frozen encoder")
    assert "interval clear of interval, on reach." in text and "push" not in text
    with pytest.raises(ValueError, match="no end-to-end policy"):
        report_paper.frozen_sentence(summary[summary.label == "ACT-JEPA (paper)"])


def labelled(rates: dict[str, float], n_eps: int = 40) -> pd.DataFrame:
    """Clean rows of ACT-JEPA (paper) rows under several labels, success exactly ``rate`` of
    each seed's episodes (the first ``rate * n_eps`` succeed), 3 seeds x 3 tasks."""
    frames = []
    for label, p in rates.items():
        for t in TASKS:
            for s in range(3):
                k = round(p * n_eps)
                frames.append(pd.DataFrame({
                    "task": t, "label": label, "method": "actjepa_paper", "seed": s,
                    "sigma": 0.0, "episode": np.arange(n_eps), "n_demos": 100,
                    "success": (np.arange(n_eps) < k).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def test_versus_sentence_words_follow_the_interval():
    r = labelled({"ACT-JEPA (paper)": 0.5, "lambda = 0.1": 0.9, "no EMA target": 0.5,
                  "obs chunk n = 1": 0.1})
    text = report_paper.versus_sentence(r, "ACT-JEPA (paper)")
    assert text.startswith("Against ACT-JEPA (paper) (50.0% [")
    assert "lambda = 0.1 +40.0 points [" in text and "], higher;" in text
    assert "no EMA target +0.0 points [" in text and "no difference the interval can detect" in text
    assert "obs chunk n = 1 -40.0 points [" in text and text.endswith(", lower.")
    with pytest.raises(ValueError, match="no rows labelled 'ACT'"):
        report_paper.versus_sentence(r, "ACT")


def test_data_efficiency_sentence_one_difference_per_count():
    r = pd.concat([labelled({"ACT-JEPA (paper)": 0.3, "ACT": 0.6}).assign(n_demos=n)
                   for n in (25, 10)], ignore_index=True)
    text = report_paper.data_efficiency_sentence(r)
    assert text.index("10 demonstrations -30.0 points [") < text.index("25 demonstrations -30.0")
    assert text.count("(lower)") == 2


def test_world_model_table_formats_the_gain_and_says_when_it_is_undefined():
    w = world(0.5)
    w.loc[(w.label == "ACT-JEPA (paper)") & (w.task == "reach"), "r2"] *= 1.5
    w.loc[(w.label == "ACT") & (w.task == "push"), "r2"] = -0.2
    table = report_paper.world_model_table(w).data
    assert table.loc["reach", "ACT R²"] == "0.450"  # mean of 0.4 and 0.5
    assert table.loc["reach", "ACT-JEPA (paper) R²"] == "0.675"
    assert table.loc["reach", "relative gain"] == "+50% [+50%, +50%]"
    assert table.loc["push", "relative gain"] == "undefined (ACT's R² ≤ 0)"


def spec_json(**policy) -> str:
    import json
    return json.dumps({"resolved": {"policy": {"steps": 1000, "lr": 1e-3, **policy}}})


def validation_rows(rates: dict[tuple[str, int], float], seeds: int = 2, n_eps: int = 100,
                    field: str = "steps") -> pd.DataFrame:
    """Rows of runs ``(method, value of field)`` at the given success, exactly."""
    parts = []
    for (m, value), p in rates.items():
        for t in TASKS:
            for s in range(seeds):
                parts.append(pd.DataFrame({
                    "task": t, "method": m, "label": f"{LABELS[m]}, {field} {value:g}", "seed": s,
                    "sigma": 0.0, "episode": np.arange(n_eps),
                    "success": (np.arange(n_eps) < round(p * n_eps)).astype(float),
                    "spec": spec_json(**{field: value})}))
    return pd.concat(parts, ignore_index=True)


def test_budget_sentence_reads_the_rule_off_the_curves():
    rates = {(m, b): p for m in ("act", "diffusion_policy", "actjepa_paper")
             for b, p in ((1000, 0.5), (2000, 0.9), (4000, 0.9))}
    curves = validation_rows(rates)
    curves = curves.assign(steps=report_paper.run_steps(curves))
    assert report_paper.budget_sentence(curves, 2000).startswith("The curves flatten at **2,000 steps**")
    assert "not the book's" in report_paper.budget_sentence(curves, 4000)
    rising = curves[curves.steps < 4000]
    text = report_paper.budget_sentence(rising, 1000)
    assert text.startswith("No budget of the curves meets it")
    assert "trains for **1,000 steps**" in text
    assert re.search(r"; ACT-JEPA \(paper\) \(\w+: 50\.0% at 1,000 steps", text)


def test_search_sentence_names_the_choice_and_a_mismatch():
    rates = {(m, lr): p for m in ("act", "diffusion_policy", "actjepa_paper")
             for lr, p in ((1e-3, 0.6), (1e-4, 0.8 if m == "diffusion_policy" else 0.5))}
    search = validation_rows(rates, field="lr")
    text = report_paper.search_sentence(search, {"diffusion_policy": {"lr": 1e-4}})
    assert "ACT 0.001; Diffusion Policy 0.0001; ACT-JEPA (paper) 0.001." in text
    assert "but the comparison runs" in report_paper.search_sentence(search, {})


def test_gate_display_marks_each_check():
    from actjepa_core.gate import gate_table
    rates = {("act", 1000): 1.0, ("diffusion_policy", 1000): 0.05}
    clean = validation_rows(rates).assign(spec_key=lambda d: d.method + d.task + d.seed.astype(str))
    curves = validation_rows({**rates, ("act", 2000): 1.0, ("diffusion_policy", 2000): 0.05})
    table = gate_table(clean, curves.assign(steps=report_paper.run_steps(curves)),
                       {"act": 1000, "diffusion_policy": 1000},
                       {"act": "ACT", "diffusion_policy": "Diffusion Policy"})
    shown = tables.gate_display(table).data
    assert shown.loc["ACT", "passes"] == "<b>✓</b>" and shown.loc["Diffusion Policy", "passes"] == "<b>✗</b>"
    assert shown.loc["Diffusion Policy", "solves Reach"].startswith("<b>✗</b><br><small>reach 5.0%")
    assert shown.loc["ACT", "no collapse"] == "<b>–</b><br><small>no latent target</small>"
    waiting = tables.gate_display(gate_table(clean, None, {"act": 1000, "diffusion_policy": 1000},
                                             {"act": "ACT", "diffusion_policy": "Diffusion Policy"},
                                             waits_for={"act": "paper_convergence",
                                                        "diffusion_policy": "paper_convergence"})).data
    assert waiting.loc["ACT", "converged"] == ("<b>…</b><br><small>paper_<wbr>convergence: no "
                                               "results yet</small>")  # may break: narrow page
    assert waiting.loc["ACT", "passes"] == "<b>…</b>"  # waits, fails nothing
    assert waiting.loc["Diffusion Policy", "passes"] == "<b>✗</b>"  # fails Reach whatever comes


def test_latent_monitor_and_future_errors_of_a_tiny_model():
    from actjepa_core.data import demonstrations
    from actjepa_core.methods import registry
    demos = demonstrations("reach", 2, seed=0, action_noise=0.1, progress=False)
    cfg = registry.make_config("actjepa_paper", "reach", steps=4, batch_size=8, monitor_every=2,
                               d_model=16, n_heads=2, dim_feedforward=32, encoder_hidden=(16,),
                               predictor_dim=8, predictor_heads=2, predictor_ff=16, device="cpu")
    model, history = registry.train(cfg, demos)
    monitor = report_paper.latent_monitor(history)
    assert set(monitor.output) == {"target tokens", "predictor tokens"} and len(monitor) == 4
    errors = report_paper.future_errors(model, demos)
    assert errors.j.tolist() == list(range(cfg.obs_chunk + 1))
    assert (errors["mean guess"] > 0).all() and np.isfinite(errors.ratio).all()
    with pytest.raises(ValueError, match="no target readings"):
        report_paper.latent_monitor(history.drop(columns=["target_std"]))


def test_committed_results_of_an_earlier_build_are_not_shown(tmp_path, monkeypatch):
    from actjepa_core.results import stale_runs, write_results
    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path))
    old = pd.DataFrame({"task": "reach", "label": "ACT", "method": "act", "seed": 0, "sigma": 0.0,
                        "episode": [0, 1], "success": [1.0, 0.0], "spec_key": "0123456789abcdef",
                        "spec": "{}"})
    write_results(old, tmp_path / "full" / "paper_search.csv")
    extra, missing = stale_runs("paper_search", "full")
    assert extra == {"0123456789abcdef"} and missing
    assert current_results("paper_search", "full") is None
    note = report_paper.not_run_note("paper_search")
    assert "earlier build of its methods (1 run(s)" in note and "--experiments paper_search" in note
    assert "no committed full-profile results yet" in report_paper.not_run_note("paper_main")


def test_a_waiting_section_counts_the_runs_already_committed(tmp_path, monkeypatch):
    from actjepa_core.results import partial_file, run_keys, write_results
    monkeypatch.setenv("ACTJEPA_RESULTS", str(tmp_path))
    name = "paper_convergence"
    assert "are finished and committed" not in report_paper.not_run_note(name)
    keys = sorted(run_keys(name, get_profile("full")))
    rows = pd.DataFrame({"task": "reach", "label": "ACT", "method": "act", "seed": 0,
                         "sigma": 0.0, "episode": 0, "success": 1.0, "spec_key": keys[:2],
                         "spec": "{}"})
    write_results(rows, partial_file(name, "full", tmp_path))
    note = report_paper.not_run_note(name)
    assert f"2 of its {len(keys)} runs are finished and committed" in note
    assert "no committed full-profile results yet" in note


def test_the_article_s_committed_results_are_today_s_runs():
    from actjepa_core.results import stale_runs
    for name in ("main", "ablations", "data_efficiency", "noisy_demos", "pixels", "pixel_probes"):
        assert stale_runs(name, "full") == (set(), set()), name


def test_noise_sentence_ranks_the_share_each_method_keeps_at_the_largest_sigma():
    average = pd.DataFrame({"label": ["ACT", "ACT", "ACT", "DP", "DP", "DP"],
                            "sigma": [0.0, 0.1, 0.3] * 2,
                            "success": [0.8, 0.6, 0.4, 0.5, 0.5, 0.45]})
    text = report_paper.noise_sentence(average)
    assert text.startswith("At σ = 0.3, the largest test noise,")
    assert text.index("DP 90.0% (50.0% → 45.0%)") < text.index("ACT 50.0% (80.0% → 40.0%)")
    with pytest.raises(ValueError, match="needs σ = 0 and a σ > 0"):
        report_paper.noise_sentence(average[average.sigma > 0])


def test_the_converged_gate_checks_the_longer_budget_once_its_runs_are_in(monkeypatch):
    """ACT-JEPA (paper) fails convergence at the budget (1,000 steps: 60% against 90% at
    2,000); the converged comparison trains it for 2,000 and checks it against 4,000."""
    longer_jepa = {"actjepa_paper": 2}
    monkeypatch.setitem(report_paper.COMPARISONS, "converged", dataclasses.replace(
        report_paper.COMPARISONS["converged"], converged=longer_jepa))
    methods = ("act", "diffusion_policy", "actjepa_paper")

    def runs(rates, split_seeds=5):
        rows = validation_rows(rates, seeds=split_seeds)
        rows = rows.assign(spec=[s.replace('"steps"', '"d_model": 8, "steps"') for s in rows.spec])
        return rows.assign(spec_key=rows.method + rows.task + rows.seed.astype(str) + rows.spec,
                           target_std=0.05, target_erank=6.0,
                           predictor_std=0.05, predictor_erank=6.0)

    equal = runs({**{(m, 1000): 0.95 for m in methods}})
    converged = runs({("act", 1000): 0.95, ("diffusion_policy", 1000): 0.95,
                      ("actjepa_paper", 2000): 0.95})
    conv = runs({**{(m, b): 0.9 for m in methods for b in (1000, 2000)},
                 ("actjepa_paper", 1000): 0.6})
    longer = runs({("actjepa_paper", 2000): 0.9, ("actjepa_paper", 4000): 0.9})
    files = {"paper_main": equal, "paper_main_converged": converged, "paper_convergence": conv}
    monkeypatch.setattr(report_paper, "current_results", lambda name, profile: files.get(name))

    at_one = report_paper.sanity_gate("full", "equal").set_index("method")
    assert at_one.loc["actjepa_paper", "reason"].startswith("pick_place: 60.0% at 1,000 steps")
    waiting = report_paper.sanity_gate("full", "converged").set_index("method")
    assert waiting.loc["act", "passes"] and waiting.loc["diffusion_policy", "passes"]
    assert waiting.loc["actjepa_paper", "pending"] == "paper_convergence_long: no results yet"
    files["paper_convergence_long"] = longer  # its 2,000-step runs are paper_convergence's too
    gate = report_paper.sanity_gate("full", "converged").set_index("method")
    assert gate.passes.all(), gate.reason
    assert gate.loc["actjepa_paper", "curve"] == "flat from 2,000 to 4,000 steps"
    text = report_paper.converged_sentence(at_one.reset_index(), get_profile("smoke"), longer_jepa)
    assert text.startswith("The converged comparison trains ACT-JEPA (paper) for 80 steps (pick_place: 60.0% at 1,000")


def test_a_method_trained_four_times_as_long_is_checked_at_that_budget_by_the_longer_check(
        monkeypatch):
    """Each method's convergence check is the one at its own budget: Diffusion Policy's at the
    budget, ACT's at 2x (it failed the first), ACT-JEPA (paper)'s at 4x (it failed both);
    the last waits while its check has no results, the others are checked meanwhile."""
    c = report_paper.Comparison("converged", "conv", {"act": 2, "actjepa_paper": 4},
                                ("long", "longer"))
    assert [report_paper.check_experiment(c, m) for m in ("diffusion_policy", "act",
                                                          "actjepa_paper")] == [
        "conv", "long", "longer"]
    conv = validation_rows({(m, b): 0.9 for m in ("diffusion_policy", "act", "actjepa_paper")
                            for b in (1000, 2000)}, seeds=5)
    long = validation_rows({(m, b): 0.9 for m in ("act", "actjepa_paper") for b in (2000, 4000)},
                           seeds=5)
    files = {name: rows.assign(spec_key=rows.method + rows.task + rows.seed.astype(str) + rows.spec)
             for name, rows in (("conv", conv), ("long", long))}
    monkeypatch.setattr(report_paper, "current_results", lambda name, profile: files.get(name))
    curves, waits = report_paper.convergence_rows(c, "full")
    assert waits == {"actjepa_paper": "longer"}
    assert {m: sorted(set(g.steps)) for m, g in curves.groupby("method")} == {
        "act": [1000, 2000, 4000], "actjepa_paper": [1000, 2000, 4000],
        "diffusion_policy": [1000, 2000]}
    assert len(curves) == len(conv) + len(long) // 2  # the 2,000-step runs are read once
    failing = long.assign(success=np.where(long.spec.str.contains("4000"), 1.0, 0.5))
    files["long"] = failing.assign(spec_key=files["long"].spec_key)
    budget = dataclasses.replace(get_profile("full"), policy_steps=1000)
    monkeypatch.setattr(report_paper, "get_profile", lambda name: budget)
    assert report_paper.longer_failures(c, "full") == {
        "actjepa_paper": "pick_place: 50.0% at 2,000 steps; below the CI at 4,000 steps (from "
                         "99.2%)"}  # ACT trains 2x long: no longer check below its own
    with pytest.raises(ValueError, match=r"ACT trains for 8x .* no convergence check there"):
        report_paper.check_experiment(report_paper.Comparison("s", "conv", {"ACT": 8}, ("long",)),
                                      "ACT")


def test_converged_sentence_when_none_or_all_methods_train_longer():
    from actjepa_core.suites import PAPER_CHUNKED
    P = get_profile("smoke")
    assert report_paper.converged_sentence(None, P, {}).startswith(
        "Every chunked method's curve has flattened at 40 steps")
    waiting = pd.DataFrame({"method": ["act"], "label": ["ACT"], "passes": [False],
                            "reason": [""], "pending": ["paper_convergence: no results yet"],
                            "converged": [None], "curve": ["paper_convergence: no results yet"]})
    assert report_paper.converged_sentence(waiting, P, {}) == (
        "Which methods must train longer is not known yet: the sanity gate of ACT waits for "
        "paper_convergence: no results yet.")
    learning = waiting.assign(pending="", reason="push: ...", converged=False, curve="push: ...")
    assert report_paper.converged_sentence(learning, P, {}).startswith(
        "No method trains longer: the converged budgets are read off the full profile's runs, "
        "though this profile's gate finds ACT still learning")
    text = report_paper.converged_sentence(None, P, {m: 2 for m in PAPER_CHUNKED})
    assert "ACT for 80 steps; Diffusion Policy for 80 steps" in text and "raw BC keeps its run" in text
    text = report_paper.converged_sentence(None, P, {"act": 2, "actjepa_paper": 2})
    assert "; Diffusion Policy keeps its 40 steps and raw BC its run" in text
    text = report_paper.converged_sentence(None, P, {"act": 2})
    assert "; Diffusion Policy and ACT-JEPA (paper) keep their 40 steps" in text
    at_one = pd.DataFrame({"method": ["act"], "converged": [False], "curve": ["push: 60%"]})
    text = report_paper.converged_sentence(at_one, P, {"act": 4}, {"act": "push: 80%"})
    assert text.startswith("The converged comparison trains ACT for 160 steps (push: 60%; then "
                           "push: 80%); Diffusion Policy")


def test_rows_at_the_one_budget_carry_a_caveat_where_a_method_of_theirs_still_learns():
    gate = pd.DataFrame({"method": ["act", "actjepa_paper", "diffusion_policy"],
                         "label": ["ACT", "ACT-JEPA (paper)", "Diffusion Policy"],
                         "converged": [True, False, None],
                         "curve": ["flat", "pick_place: 87.2% at 20,000 steps", "waits"]})
    assert report_paper.one_budget_caveat(gate, ("act", "actjepa_paper")) == (
        "These rows train for the one budget, where the gate above finds ACT-JEPA (paper) "
        "(pick_place: 87.2% at 20,000 steps) still learning: a difference between them may be "
        "one of learning speed, not of where training ends.")
    assert report_paper.one_budget_caveat(gate, ("act", "diffusion_policy")).endswith(
        "finds none of their methods still learning.")  # Diffusion Policy's check waits
    assert "no results yet" in report_paper.one_budget_caveat(None, ("actjepa_paper",))


def test_check_curves_pool_every_check_up_to_the_longest_budget_each_run_once(monkeypatch):
    from actjepa_core.gate import seed_interval
    c = report_paper.Comparison("converged", "conv", {"act": 2}, ("long", "longer"))
    conv = validation_rows({(m, b): 0.9 for m in ("act", "diffusion_policy") for b in (1000, 2000)},
                           seeds=3)
    long = validation_rows({("act", b): 0.9 for b in (2000, 4000)}, seeds=3)
    files = {name: rows.assign(spec_key=rows.method + rows.task + rows.seed.astype(str) + rows.spec)
             for name, rows in (("conv", conv), ("long", long))}
    read = []
    monkeypatch.setattr(report_paper, "current_results",
                        lambda name, profile: read.append(name) or files.get(name))
    curves = report_paper.check_curves(c, "full")
    assert read == ["conv", "long"]  # no method trains 4x long: the longer check holds no run
    assert len(curves) == len(conv) + len(long) // 2  # ACT's 2,000-step runs are read once
    summary = report_paper.curve_summary(curves, seed_interval)
    assert sorted(set(summary[summary.method == "act"].steps)) == [1000, 2000, 4000]
    assert (summary.seeds == 3).all() and set(summary.label) == {"ACT", "Diffusion Policy"}
    files.clear()
    assert report_paper.check_curves(c, "full") is None
