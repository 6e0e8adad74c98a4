"""The three policy extraction protocols, the probes, and evaluation's tidy rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.data import Demonstrations
from actjepa_core.envs import get_task
from actjepa_core.evaluate import evaluate_policy, summarize
from actjepa_core.policies import (
    BCConfig,
    LatentMPC,
    LatentNN,
    MPCConfig,
    goal_observation,
    train_bc,
)
from actjepa_core.probes import probe_representation, ridge_r2, torch_embedder
from actjepa_core.rollout import run_episodes
from actjepa_core.seeds import episode_seeds
from actjepa_core.methods.actjepa import build_model


@pytest.fixture(scope="module")
def reach() -> Demonstrations:
    from actjepa_core.experts import make_expert

    r = run_episodes("reach", make_expert("reach"), episode_seeds("tests", 8), num_envs=8,
                     action_noise=0.1, noise_seed=0)
    return Demonstrations("reach", r.obs, r.actions, r.rewards, r.success, r.seeds)


@pytest.fixture(scope="module")
def model():
    return build_model(JEPAConfig(obs_dim=13, action_dim=4, repr_dim=32, pred_hidden=16))


def test_bc_learns_the_expert_on_reach(reach):
    o, a, _ = reach.transitions()
    policy, losses = train_bc(None, o, a, reach.stats, get_task("reach").layout,
                              BCConfig(steps=600, seed=0))
    assert losses[-50:].mean() < 0.25 * losses[:50].mean()
    r = run_episodes("reach", policy, episode_seeds("evaluation", 10), num_envs=10)
    assert r.success_rate >= 0.8  # Reach from 8 demos: BC should nearly always succeed


def test_bc_keeps_the_encoder_frozen_unless_finetuning(reach, model):
    o, a, _ = reach.transitions()
    before = [p.clone() for p in model.encoder.parameters()]
    lay = get_task("reach").layout
    frozen, _ = train_bc(model.encoder, o, a, reach.stats, lay, BCConfig(steps=20, goal_input=True))
    tuned, _ = train_bc(model.encoder, o, a, reach.stats, lay, BCConfig(steps=20, finetune=True))
    for b, p, f, t in zip(before, model.encoder.parameters(), frozen.encoder.parameters(),
                          tuned.encoder.parameters()):
        assert torch.equal(b, p) and torch.equal(b, f)
    assert any(not torch.equal(b, t) for b, t in zip(before, tuned.encoder.parameters()))
    assert frozen.head.net[0].in_features == 32 + 3  # representation ++ goal


def test_bc_is_deterministic(reach):
    o, a, _ = reach.transitions()
    lay = get_task("reach").layout
    p1, _ = train_bc(None, o, a, reach.stats, lay, BCConfig(steps=30, seed=4))
    p2, _ = train_bc(None, o, a, reach.stats, lay, BCConfig(steps=30, seed=4))
    for x, y in zip(p1.head.parameters(), p2.head.parameters()):
        assert torch.equal(x, y)


def test_nearest_neighbour_returns_the_demonstrated_action(reach, model):
    o, a, _ = reach.transitions()
    policy = LatentNN(model.encoder, o, a, reach.stats)
    raw = reach.obs[:, :-1].reshape(-1, 13)[:5]
    np.testing.assert_array_equal(policy(raw), a[:5])


def test_policies_refuse_bad_observations(reach, model):
    o, a, _ = reach.transitions()
    policy = LatentNN(None, o, a, reach.stats)
    with pytest.raises(ValueError, match=r"shape \(n, 13\)"):
        policy(np.zeros((2, 28), np.float32))
    bad = np.zeros((2, 13), np.float32)
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        policy(bad)


def test_goal_observation_puts_what_is_achieved_at_the_goal():
    lay = get_task("push").layout
    obs = np.random.default_rng(0).normal(size=(3, lay.dim)).astype(np.float32)
    g = goal_observation(obs, lay)
    np.testing.assert_array_equal(g[:, lay["object_pos"]], obs[:, lay["goal"]])
    np.testing.assert_array_equal(g[:, lay["grip_pos"]], obs[:, lay["goal"]])
    assert not g[:, lay["object_velp"]].any() and not g[:, lay["object_rel_pos"]].any()
    np.testing.assert_array_equal(g[:, lay["gripper_state"]], obs[:, lay["gripper_state"]])


def test_mpc_plans_valid_actions_reproducibly(reach, model):
    policy = LatentMPC(model, reach.stats, get_task("reach").layout,
                       MPCConfig(horizon=3, population=16, elites=4, iterations=2))
    obs = reach.obs[:4, 0]
    policy.reset(4)
    a1 = policy(obs)
    policy.reset(4)
    a2 = policy(obs)
    assert a1.shape == (4, 4) and np.abs(a1).max() <= 1
    np.testing.assert_array_equal(a1, a2)
    passive = build_model(JEPAConfig(obs_dim=13, action_dim=4, repr_dim=32, pred_hidden=16,
                                     action_injection="none"))
    with pytest.raises(ValueError, match="action-conditioned"):
        LatentMPC(passive, reach.stats, get_task("reach").layout)


def test_probes_find_what_is_there_and_not_what_is_not(reach):
    full = probe_representation(torch_embedder(None), reach).set_index("target")["r2"]
    assert full["goal"] > 0.99  # the goal is in the observation, linearly
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 5)), rng.normal(size=(400, 2))
    assert ridge_r2(x[:300], y[:300], x[300:], y[300:]) < 0.1  # noise predicts nothing


def test_evaluation_rows_and_summary(reach):
    o, a, _ = reach.transitions()
    policy = LatentNN(None, o, a, reach.stats)
    rows = evaluate_policy("reach", policy, 6, reach.stats, sigma=0.1, label="nn", seed=3,
                           num_envs=6)
    assert list(rows.columns[:6]) == ["task", "label", "seed", "sigma", "episode", "env_seed"]
    assert len(rows) == 6 and set(rows["success"]) <= {0.0, 1.0}
    assert rows["env_seed"].min() >= episode_seeds("evaluation", 1)[0]
    again = evaluate_policy("reach", policy, 6, reach.stats, sigma=0.1, label="nn", seed=3,
                            num_envs=3)
    np.testing.assert_array_equal(rows["success"], again["success"])  # batching-invariant
    summary = summarize(rows)
    assert summary.loc[0, "episodes"] == 6 and summary.loc[0, "seeds"] == 1
    assert summary.loc[0, "ci_low"] <= summary.loc[0, "success"] <= summary.loc[0, "ci_high"]


def test_evaluation_defaults_are_clean_and_seeded_and_one_episode_suffices(reach):
    o, a, _ = reach.transitions()
    policy = LatentNN(None, o, a, reach.stats)
    plain = evaluate_policy("reach", policy, 4, reach.stats)
    clean = evaluate_policy("reach", policy, 4, reach.stats, sigma=0.0, noise_seed=0, num_envs=25)
    pd.testing.assert_frame_equal(plain, clean)
    assert (plain.sigma == 0).all() and (plain.label == "").all() and (plain.seed == 0).all()
    noisy = evaluate_policy("reach", policy, 4, reach.stats, sigma=2.0)
    assert noisy.equals(evaluate_policy("reach", policy, 4, reach.stats, sigma=2.0, noise_seed=0))
    assert len(evaluate_policy("reach", policy, 1, reach.stats)) == 1
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_policy("reach", policy, 0, reach.stats)


def test_summarize_keeps_the_order_groups_first_appear_in():
    rows = pd.DataFrame({"task": ["reach", "reach", "push", "push"], "label": "m", "sigma": 0.0,
                         "seed": [0, 1, 0, 1], "success": [1.0, 0.0, 1.0, 1.0]})
    assert list(summarize(rows).task) == ["reach", "push"]  # not sorted
