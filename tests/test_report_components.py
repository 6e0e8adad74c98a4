"""Chapter 2's tables and paragraphs on a tiny model whose numbers can be counted by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from actjepa_core import report_components as rc
from actjepa_core.config import INJECTIONS
from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.models import BCHead
from actjepa_core.methods.actjepa import build_model

TINY = JEPAConfig(obs_dim=3, action_dim=2, repr_dim=4, enc_hidden=(5,), act_hidden=3,
                  pred_hidden=2, pred_depth=2)
"""O = 3, A = 2, D = 4; encoder 3-5-4, action encoder 2-3-4, predictor hidden 2 (x2)."""
# By hand (weights + biases of each Linear):
ENCODER = (3 * 5 + 5) + (5 * 4 + 4)                       # 44
ACTION_ENCODER = (2 * 3 + 3) + (3 * 4 + 4)                # 25
PRED_HIDDEN_AND_OUT = (2 * 2 + 2) + (2 * 4 + 4)           # second hidden layer + output: 18
PREDICTOR = {
    "concat": (8 * 2 + 2) + PRED_HIDDEN_AND_OUT,          # input [s; e] of width 2D: 36
    "add": (4 * 2 + 2) + PRED_HIDDEN_AND_OUT,             # 28
    "film": (4 * 2 + 2) + PRED_HIDDEN_AND_OUT + (4 * 8 + 8),  # + one D -> 2*depth*hidden map: 68
    "none": (4 * 2 + 2) + PRED_HIDDEN_AND_OUT,            # 28
}
BC_HEAD = (4 * 3 + 3) + (3 * 2 + 2)                       # BCHead(4, 2, hidden=(3,)): 23
WIDE_PREDICTOR = (8 * 5 + 5) + (5 * 5 + 5) + (5 * 4 + 4)  # bottleneck=False: hidden max(5, 4)


def batch(n: int = 4, seed: int = 0, cfg: JEPAConfig = TINY
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, cfg.obs_dim, generator=g),
            torch.rand(n, cfg.action_dim, generator=g) * 2 - 1,
            torch.randn(n, cfg.obs_dim, generator=g))


def tiny(injection: str = "concat"):
    return build_model(dataclasses.replace(TINY, action_injection=injection)).eval()


def test_n_params_counts_weights_and_biases_and_zero_for_a_missing_part():
    assert rc.n_params(torch.nn.Linear(3, 2)) == 8
    assert rc.n_params(None) == 0
    assert rc.n_params(tiny().encoder) == ENCODER


def test_parameter_table_equals_the_hand_count():
    table = rc.parameter_table(tiny(), BCHead(4, 2, hidden=(3,)))
    assert table.index.name == "component"
    assert table.parameters.to_dict() == {
        "encoder f (online)": ENCODER,
        "target encoder f̄": ENCODER,
        "action encoder h": ACTION_ENCODER,
        **{f"predictor g ({i})": PREDICTOR[i] for i in INJECTIONS},
        "BC head π": BC_HEAD,
    }
    assert table.loc["target encoder f̄", "trained by"] == "EMA only"
    assert table.loc["BC head π", "trained by"] == "AdamW (later, encoder frozen)"
    passive = rc.parameter_table(tiny("none"), BCHead(4, 2, hidden=(3,)))
    assert passive.loc["action encoder h", "parameters"] == 0


def test_parameter_table_of_the_default_push_model():
    cfg = JEPAConfig(obs_dim=28, action_dim=4)
    table = rc.parameter_table(build_model(cfg), BCHead(cfg.repr_dim, cfg.action_dim))
    assert table.loc["encoder f (online)", "parameters"] == 28 * 256 + 256 + 256 * 256 + 256 \
        + 256 * 128 + 128
    assert table.loc["predictor g (concat)", "parameters"] == 256 * 64 + 64 + 64 * 64 + 64 \
        + 64 * 128 + 128


def test_bottleneck_paragraph_states_the_hand_counted_widths_and_sizes():
    assert rc.bottleneck_paragraph(tiny()) == (
        "The predictor's hidden width is **2** against a representation of **D = 4** (50% of "
        f"D), over 2 hidden layers. With concatenation the predictor has {PREDICTOR['concat']} "
        f"parameters, {PREDICTOR['concat'] / ENCODER:.0%} of the encoder's {ENCODER}. The "
        "no-bottleneck ablation (`bottleneck=False`) widens the hidden layers to 5 and the "
        f"predictor to {WIDE_PREDICTOR} parameters.")
    assert "82% of the encoder's 44" in rc.bottleneck_paragraph(tiny())
    assert f"With FiLM the predictor has {PREDICTOR['film']} parameters" in \
        rc.bottleneck_paragraph(tiny("film"))


def test_data_sentence():
    assert rc.data_sentence(100, 5000, JEPAConfig(obs_dim=28, action_dim=4)) == (
        "100 Push episodes give **5000 transitions**; an observation has O = 28 numbers and an "
        "action A = 4. The default configuration (the article's hyperparameter table) uses a "
        "representation of D = 128 dimensions.")


def test_first_batch_takes_the_first_rows_as_tensors():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = np.arange(5, dtype=np.float32)
    bx, by = rc.first_batch(3, x, y)
    assert isinstance(bx, torch.Tensor) and bx.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert by.tolist() == [0, 1, 2]
    assert [t.shape[0] for t in rc.first_batch(256, x, y)] == [5, 5]
    assert rc.first_batch(1, x)[0].tolist() == [[0, 1]]
    with pytest.raises(ValueError, match="same number of rows"):
        rc.first_batch(3, x, y[:4])
    with pytest.raises(ValueError, match="batch_size"):
        rc.first_batch(0, x, y)


def test_shape_table_rows_and_shapes():
    model = tiny()
    table = rc.shape_table(model, BCHead(4, 2, hidden=(3,)), *batch(n=3))
    assert list(table.columns) == ["meaning", "shape"]
    assert table.index.name == "tensor"
    assert list(table.itertuples(name=None)) == [
        ("o_t", "observation (standardised)", (3, 3)),
        ("a_t", "action", (3, 2)),
        ("o_{t+1}", "next observation", (3, 3)),
        ("s_t = f(o_t)", "online representation", (3, 4)),
        ("e_a = h(a_t)", "action embedding", (3, 4)),
        ("[s_t; e_a]", "predictor input (concat)", (3, 8)),
        ("hidden", "predictor bottleneck layer", (3, 2)),
        ("ŝ_{t+1} = g(s_t, e_a)", "prediction", (3, 4)),
        ("s̄_{t+1} = f̄(o_{t+1})", "target", (3, 4)),
        ("L", "latent loss", ()),
        ("π(s_t)", "BC head action", (3, 2)),
    ]
    layers = model.predictor.layers
    assert not layers[0]._forward_hooks and not layers[-1]._forward_hooks, "hooks left behind"


def test_shape_table_follows_the_injection():
    head = BCHead(4, 2, hidden=(3,))
    add = rc.shape_table(tiny("add"), head, *batch(n=3))
    assert add.loc["s_t + e_a"].tolist() == ["predictor input (add)", (3, 4)]
    none = rc.shape_table(tiny("none"), head, *batch(n=3))
    assert "e_a = h(a_t)" not in none.index and len(none) == 10
    assert none.loc["s_t"].tolist() == ["predictor input (none)", (3, 4)]


def test_shape_table_of_a_one_layer_predictor():
    model = build_model(dataclasses.replace(TINY, pred_depth=1)).eval()
    table = rc.shape_table(model, BCHead(4, 2, hidden=(3,)), *batch(n=3))
    assert table.loc["[s_t; e_a]", "shape"] == (3, 8)
    assert table.loc["hidden", "shape"] == (3, 2)


def test_latent_loss_by_hand_is_the_formula():
    pred, target = [[1.0, 2.0, 0.0], [0.5, -1.0, 2.0]], [[0.0, 1.0, 1.0], [1.0, 1.0, -1.0]]
    assert rc.latent_loss_by_hand(pred, target) == pytest.approx((3 + 13.25) / 2)
    p, t = np.array(pred), np.array(target)
    cos = (p * t).sum(1) / np.linalg.norm(p, axis=1) / np.linalg.norm(t, axis=1)
    assert rc.latent_loss_by_hand(pred, target, normalize=True) == pytest.approx(
        np.mean(2 - 2 * cos))
    assert rc.latent_loss_by_hand([[3.0, 0.0]], [[0.0, 4.0]]) == 25.0
    assert rc.latent_loss_by_hand([[3.0, 0.0]], [[0.0, 4.0]], normalize=True) == 2.0


def test_latent_loss_check_equals_the_formula_and_shows_the_stop_gradient():
    table = rc.latent_loss_check()
    assert list(table.index) == ["raw", "normalised"]
    assert table.loc["raw", "formula (by hand)"] == pytest.approx(8.125)
    assert table.loc["raw", "latent_loss"] == pytest.approx(8.125)
    by_hand_norm = rc.latent_loss_by_hand(rc.EXAMPLE_PRED, rc.EXAMPLE_TARGET, normalize=True)
    assert table.loc["normalised", "latent_loss"] == pytest.approx(by_hand_norm, abs=1e-6)
    assert table.equal.tolist() == [True, True]
    assert table.loc["raw", "grad reaches pred / target"] == "True / False"
    other = rc.latent_loss_check([[3.0, 0.0]], [[0.0, 4.0]])
    assert other.loc["raw", "latent_loss"] == pytest.approx(25.0)
    assert other.loc["normalised", "latent_loss"] == pytest.approx(2.0)


def test_latent_loss_check_reports_a_wrong_loss(monkeypatch):
    def mean_over_d(pred, target, normalize=False):  # the article's reference code: / D
        return (pred - target.detach()).pow(2).mean()

    monkeypatch.setattr(rc, "latent_loss", mean_over_d)
    table = rc.latent_loss_check()
    assert table.loc["raw", "latent_loss"] == pytest.approx(8.125 / 3)
    assert not table.loc["raw", "equal"]


def test_latent_loss_check_sees_a_missing_stop_gradient(monkeypatch):
    def no_detach(pred, target, normalize=False):
        return (pred - target).pow(2).sum(dim=-1).mean()

    monkeypatch.setattr(rc, "latent_loss", no_detach)
    assert rc.latent_loss_check().loc["raw", "grad reaches pred / target"] == "True / True"


@pytest.mark.parametrize("error, equal", [(5e-7, True), (2e-6, False)])
def test_latent_loss_check_tolerates_float32_rounding_only(monkeypatch, error, equal):
    real = rc.latent_loss
    monkeypatch.setattr(rc, "latent_loss",
                        lambda pred, target, normalize=False: real(pred, target, normalize) + error)
    assert rc.latent_loss_check().equal.tolist() == [equal, equal]


def test_injection_table_measures_the_swap_and_none_is_blind():
    obs, actions, _ = batch(n=5)
    table = rc.injection_table(TINY, obs, actions)
    assert list(table.index) == list(INJECTIONS)
    assert table.loc["none", "mean ||ŝ(a) - ŝ(a')||"] == 0.0
    assert table.loc["none", "relative difference"] == 0.0
    for injection in ("concat", "add", "film"):
        m = tiny(injection)
        with torch.no_grad():
            s = m.encode(obs)
            p1, p2 = m.predict(s, actions), m.predict(s, actions.roll(1, dims=0))
        diff, size = (p1 - p2).norm(dim=1).mean().item(), p1.norm(dim=1).mean().item()
        assert table.loc[injection, "mean ||ŝ(a) - ŝ(a')||"] == pytest.approx(diff)
        assert table.loc[injection, "mean ||ŝ(a)||"] == pytest.approx(size)
        assert table.loc[injection, "relative difference"] == pytest.approx(diff / size)
        assert diff > 0


def test_injection_table_is_zero_when_the_actions_are_all_the_same():
    obs, actions, _ = batch(n=5)
    same = actions[:1].repeat(5, 1)
    table = rc.injection_table(TINY, obs, same)
    assert (table["relative difference"] == 0).all()
    assert (table["mean ||ŝ(a)||"] > 0).all()


def test_injection_paragraph():
    table = pd.DataFrame({"relative difference": [0.0474, 0.0504, 0.115, 0.0]},
                         index=pd.Index(INJECTIONS, name="injection"))
    assert rc.injection_paragraph(table).startswith(
        "Swapping the action changes the prediction by 4.7% of its size with concatenation, "
        "5.0% with addition and 11.5% with FiLM, and by exactly 0% without action injection. "
        "Training decides")
