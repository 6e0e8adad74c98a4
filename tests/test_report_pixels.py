"""Chapter 13's tables and sentences, the pixel audit and chapter 10's modality table, from
hand-made episode rows whose answers are known; and the pixel runs' specs and guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actjepa_core import audit, claims, report_audit, report_pixels
from actjepa_core.analysis import as_state_tasks
from actjepa_core.envs import pixel_task
from actjepa_core.experiments import RunSpec
from actjepa_core.probes import ridge_r2
from actjepa_core.profiles import get_profile
from actjepa_core.suites import BASELINES, EXPERIMENTS, pixel_probe_specs, pixel_specs
from helpers import article_gate

SIGMAS = claims.CLAIMED_SIGMAS


def rows(p: dict[str, float], tasks=claims.TASKS, seeds: int = 3, n_eps: int = 20,
         seed: int = 0) -> pd.DataFrame:
    """Episode rows of the five methods at every sigma: success with probability p[method]
    on clean episodes, times (1 - sigma) under noise."""
    rng = np.random.default_rng(seed)
    grid = pd.MultiIndex.from_product([list(BASELINES), SIGMAS, tasks, range(seeds)],
                                      names=["method", "sigma", "task", "seed"])
    frame = grid.to_frame(index=False)
    out = frame.loc[frame.index.repeat(n_eps)].reset_index(drop=True)
    out["episode"] = np.tile(np.arange(n_eps), len(frame))
    prob = out.method.map(p).to_numpy() * (1 - out.sigma.to_numpy())
    out["success"] = (rng.random(len(out)) < prob).astype(float)
    out["label"] = out.method.map(BASELINES)
    return out


ALL = {m: 0.5 for m in BASELINES}


def inputs(pix: dict[str, float], states: dict[str, float]) -> report_pixels.PixelInputs:
    px = rows(pix).assign(task=lambda r: r.task.map(lambda t: pixel_task(t, 16)), device="cpu")
    return report_pixels.PixelInputs(get_profile("smoke"), as_state_tasks(px), rows(states, seed=1))


def test_pixel_rows_take_their_state_task_names() -> None:
    px = pd.DataFrame({"task": ["reach-pixels64", "pick_place-pixels16", "push"]})
    assert as_state_tasks(px).task.tolist() == ["reach", "pick_place", "push"]


def test_beside_states_puts_the_state_rate_and_the_claim_beside_each_pixel_cell() -> None:
    table = report_pixels.beside_states(inputs({**ALL, "actjepa": 1.0, "raw": 0.0},
                                               {**ALL, "actjepa": 0.0, "raw": 1.0}))
    jepa = table[(table.method == "actjepa") & (table.task == "average") & (table.sigma == 0)].iloc[0]
    assert (jepa.success, jepa.states) == (1.0, 0.0)
    assert jepa.claimed_success == claims.MAIN["actjepa"][3]
    noisy = table[(table.method == "raw") & (table.task == "average") & (table.sigma == 0.3)].iloc[0]
    assert noisy.claimed_success == claims.NOISE["raw"][-1]
    # per-task noisy cells have no claimed number (the article gives only averages)
    assert table[(table.task == "push") & (table.sigma > 0)].claimed_success.isna().all()


def test_cells_stack_pixels_states_and_the_article() -> None:
    table = report_pixels.beside_states(inputs({**ALL, "actjepa": 1.0}, ALL))
    html = report_pixels.main_styler(table).to_html()
    assert "states " in html and "article 75.3%" in html and "<b>100.0%</b>" in html
    assert "σ = 0.3" in report_pixels.noise_styler(table).to_html()


def test_modality_paragraph_compares_ranks_and_gaps() -> None:
    table = report_pixels.beside_states(inputs({**ALL, "actjepa": 1.0, "raw": 0.0},
                                               {**ALL, "actjepa": 0.0, "raw": 1.0}))
    text = report_pixels.modality_paragraph(table)
    assert "**100.0%** on pixels (0.0% on states)" in text
    assert "+100.0 points from raw BC on pixels, -100.0 on states" in text
    assert "Ranking on pixels: ACT-JEPA + BC," in text and "on states: raw BC (no pretraining)," in text


def test_setup_sentence_names_the_device_or_the_missing_run() -> None:
    i = inputs(ALL, ALL)
    assert "trained and evaluated on **cpu**" in report_pixels.setup_sentence(i)
    none = report_pixels.PixelInputs(i.profile, None, i.states)
    assert "reproduce --profile full --experiments pixels" in report_pixels.setup_sentence(none)
    with pytest.raises(ValueError, match="no results"):
        report_pixels.beside_states(none)


def test_pixel_audit_prefixes_ids_and_chapter_10_sets_verdicts_side_by_side() -> None:
    states = audit.pd.DataFrame([*audit.main_claims(rows({**ALL, "actjepa": 0.9})),
                                 *audit.noise_claims(rows({**ALL, "actjepa": 0.9}))])
    px = rows({**ALL, "actjepa": 0.1}).assign(task=lambda r: r.task + "-pixels16")
    pixels = audit.pixel_audit(px, article_gate())
    assert pixels.id.str.startswith("pixels/").all() and len(pixels) == len(states)
    modality = report_audit.modality_table(states, pixels)
    assert len(modality) == len(states)
    best = modality.set_index("id").loc["main/best_of_five"]
    assert (best.verdict, best.pixels_verdict, best.changed) == ("holds", "does not hold", True)
    text = report_audit.modality_paragraph(modality)
    assert f"The modality changes **{int(modality.changed.sum())}** verdicts" in text
    html = report_audit.modality_styler(modality, "main table").to_html()
    assert "<b>does not hold</b>" in html


def test_without_pixel_results_every_pixel_verdict_is_not_testable_yet() -> None:
    states = pd.DataFrame(audit.main_claims(rows(ALL)))
    modality = report_audit.modality_table(states, None)
    assert (modality.pixels_verdict == "not testable yet").all() and not modality.changed.any()
    assert "no results in this profile yet" in report_audit.modality_paragraph(modality)


def test_pixel_suite_is_the_main_table_on_frames() -> None:
    P = get_profile("full")
    specs = pixel_specs(P)
    assert len(specs) == 3 * len(BASELINES) * P.pixel_seeds
    assert {s.task for s in specs} == {f"{t}-pixels64" for t in claims.TASKS}
    assert all(s.eval_episodes == P.pixel_episodes and s.sigmas == SIGMAS for s in specs)
    # one batch for every pixel model: the BC head's and, where there is one, pretraining's
    assert all(dict(s.bc)["batch_size"] == P.pixel_batch for s in specs)
    assert all(s.method_config().batch_size == P.pixel_batch for s in specs if s.method != "raw")
    assert [s.key() for s in pixel_probe_specs(P)] == [s.key() for s in specs if s.seed == 0]
    assert {"pixels", "pixel_probes"} <= set(EXPERIMENTS)


def test_pixel_runs_refuse_what_a_frame_cannot_do() -> None:
    with pytest.raises(ValueError, match="state observations only"):
        RunSpec("push-pixels16", method="act", protocol="policy")
    with pytest.raises(ValueError, match="a frame has none"):
        RunSpec("push-pixels16", method="actjepa", protocol="mpc")
    spec = RunSpec("push-pixels16", method="actjepa")
    assert spec.method_config().frame_size == 16
    assert spec.key() != RunSpec("push", method="actjepa").key()


def test_ridge_in_dual_form_is_the_same_fit() -> None:
    """More features than rows (a raw frame) takes the dual solve; it must equal the primal."""
    from actjepa_core.probes import RIDGE, r2_score

    rng = np.random.default_rng(0)
    x, x_test = rng.normal(size=(40, 60)), rng.normal(size=(30, 60))
    w = rng.normal(size=(60, 2))
    y, y_test = x @ w + 0.1 * rng.normal(size=(40, 2)), x_test @ w
    X, Y = x - x.mean(0), y - y.mean(0)
    lam = RIDGE * X.var(0).mean() * len(X)
    primal = np.linalg.solve(X.T @ X + lam * np.eye(60), X.T @ Y)
    expected = r2_score(y_test, (x_test - x.mean(0)) @ primal + y.mean(0), y.mean(0))
    assert ridge_r2(x, y, x_test, y_test) == pytest.approx(expected, abs=1e-9)


def test_example_frames_show_the_first_frame_clean_and_noisy() -> None:
    frames = report_pixels.example_frames("reach", 16, (0.0, 0.3), action_noise=0.1)
    clean, noisy = frames[0.0], frames[0.3]
    assert clean.shape == noisy.shape == (16, 16, 3) and clean.dtype == np.uint8
    assert clean.std() > 0 and not np.array_equal(clean, noisy)


def probe_rows(r2: dict[str, list[float]]) -> pd.DataFrame:
    """Probe rows of one task: per method, R² for the goal and the expert action."""
    return pd.DataFrame([{"task": "reach", "label": BASELINES[m], "method": m, "seed": 0,
                          "target": t, "r2": v}
                         for m, vals in r2.items() for t, v in zip(("goal", "expert action"), vals)])


def test_probe_table_names_the_raw_column_for_what_it_probes() -> None:
    table = report_pixels.probe_table(probe_rows({"raw": [-1.0, -2.0], "actjepa": [0.5, 0.1]}))
    assert table.columns[0] == report_pixels.RAW_FRAME and "raw BC" not in table.columns
    assert table.loc[("reach", "goal"), report_pixels.RAW_FRAME] == -1.0


def test_probe_paragraph_ranks_the_frozen_representations_and_explains_the_raw_frame() -> None:
    probes = probe_rows({"raw": [-1.0, 0.2], "autoencoder": [0.9, 0.3], "actjepa": [0.6, 0.2]})
    text = report_pixels.probe_paragraph(probes, pixel_size=16)
    assert "autoencoder 0.60, ACT-JEPA 0.40" in text  # ranked by mean R², raw frame excluded
    assert "**expert action** (R² at most 0.30" in text
    assert "below zero on 1 of 2 targets" in text and "768 pixel values" in text
    no_raw = report_pixels.probe_paragraph(probes[probes.method != "raw"], pixel_size=16)
    assert "raw frame" not in no_raw
    with pytest.raises(ValueError, match="no pretrained representation"):
        report_pixels.probe_paragraph(probes[probes.method == "raw"], pixel_size=16)
