"""Run profiles: how much work a notebook does, chosen by one papermill parameter.

``smoke`` proves the code runs in seconds (CI; its numbers mean nothing), ``quick`` gives
rough numbers in minutes, ``full`` produces the results the book commits and renders.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """Sizes of one profile; every notebook reads the fields it needs."""

    name: str
    """smoke, quick or full."""
    n_demos: int
    """Demonstration episodes per task."""
    demo_action_noise: float
    """Std of the Gaussian action noise added to the expert while collecting."""
    expert_episodes: int
    """Held-out episodes per task when checking the scripted experts."""
    frame_size: int
    """Width and height in pixels of the rendered frames of each task."""
    pretrain_steps: int
    """Optimiser steps of representation pretraining (ACT-JEPA and the baselines)."""
    bc_steps: int
    """Optimiser steps of the behaviour-cloning head."""
    policy_steps: int
    """Optimiser steps of every chunked policy trained end to end (ACT, Diffusion Policy,
    ACT-JEPA as the paper trains it): one budget for all three. In the full profile, the
    rule of ``gate.flattening_budget`` on the committed curves: the smallest budget flat for
    every method and task, else the largest budget whose double the curves measure (then
    the gate reports who is still learning, and the curves are extended);
    ``tests/test_tuning.py`` checks it. Full: 20,000. On the curves to 40,000 steps no
    budget is flat for all (at 10k Diffusion Policy on Push and ACT-JEPA (paper) on
    Pick-and-place are below the interval at 20k; at 20k Diffusion Policy on Pick-and-place,
    80.5%, is below 40k's, from 82.2%), so the budget is the largest they measure twice."""
    policy_batch: int
    """Windows per optimiser step of the chunked policies, the same for all three (ours: ACT's
    paper uses 8, Diffusion Policy's 256; 64 keeps the full profile within this CPU's budget)."""
    monitor_every: int
    """Steps between collapse-monitor readings during pretraining."""
    train_seeds: int
    """Training seeds per configuration (the unit of the confidence intervals)."""
    eval_episodes: int
    """Held-out evaluation episodes per training seed and condition."""
    demo_counts: tuple[int, ...]
    """Demonstration counts of the data-efficiency experiment."""
    train_noise_sigmas: tuple[float, ...]
    """Sensor-noise levels of the noisy-demonstrations condition (train and test)."""
    pixel_size: int
    """Width and height of the frames the pixel suite's policies see (chapter 13)."""
    pixel_seeds: int
    """Training seeds per configuration of the pixel suite (fewer than on states: a CNN
    trains about 50 times slower than the state MLP on this CPU)."""
    pixel_batch: int
    """Frames per optimiser step of every pixel model, pretraining and BC head alike (ours:
    the state runs' 256 would make one pixel model take about half an hour on this CPU)."""
    pixel_episodes: int
    """Held-out evaluation episodes per training seed and noise level of the pixel suite
    (every step is a rendered frame, about 10 ms here)."""
    curve_budgets: tuple[int, ...]
    """Optimiser steps of the chunked methods' learning curves (chapter 12): one run per
    budget, each with its own warmup and cosine schedule, scored on validation episodes. The
    largest is twice the largest budget the rule may choose; should no smaller budget be flat
    for every method, the curves are extended, not the rule loosened (full: 1k-10k left every
    method still gaining on Pick-and-place, so 20,000 steps were added). At 20k two methods
    still gained a few points on one task each (ACT-JEPA (paper) on Pick-and-place, Diffusion
    Policy on Push, by 1.5 and 0.1 points beyond the interval), and with the tuned settings
    the gate's convergence check failed both at 10k (paper_convergence), leaving every claim
    on Fetch not testable; so the curves go on to 40,000 steps (about 4.7 CPU-hours here), as
    the rule asks, and the budget is what the rule reads off them (``policy_steps``)."""
    curve_seeds: int
    """Training seeds per point of the learning curves and of the hyperparameter search."""
    search_lrs: tuple[float, ...]
    """The pre-registered search: the learning rates every chunked method is tried at (the
    default first, so a tie keeps it), at ``policy_steps``, on validation episodes."""
    mw_demos_per_task: int
    """Meta-World (chapter 14): expert demonstrations per task of the 15 (the public ACT-JEPA
    configuration trains on 40 per task)."""
    mw_episodes_per_task: int
    """Meta-World: held-out test episodes per task, training seed and noise level."""
    mw_seeds: int
    """Meta-World: training seeds per method (one multi-task policy each)."""


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", n_demos=4, demo_action_noise=0.1, expert_episodes=8, frame_size=96,
                     pretrain_steps=40, bc_steps=40, policy_steps=40, policy_batch=16,
                     monitor_every=10, train_seeds=2, eval_episodes=4, demo_counts=(2, 4),
                     train_noise_sigmas=(0.1,), pixel_size=16, pixel_seeds=2, pixel_batch=16, pixel_episodes=1,
                     curve_budgets=(20, 40, 80), curve_seeds=1, search_lrs=(1e-3, 1e-4),
                     mw_demos_per_task=1, mw_episodes_per_task=1, mw_seeds=2),
    "quick": Profile("quick", n_demos=25, demo_action_noise=0.1, expert_episodes=50,
                     frame_size=320, pretrain_steps=1500, bc_steps=1500, policy_steps=1500,
                     policy_batch=64, monitor_every=100, train_seeds=2, eval_episodes=30,
                     demo_counts=(10, 25), train_noise_sigmas=(0.1, 0.3),
                     pixel_size=64, pixel_seeds=2, pixel_batch=64, pixel_episodes=20,
                     curve_budgets=(500, 1500, 3000), curve_seeds=1, search_lrs=(1e-3, 1e-4),
                     mw_demos_per_task=10, mw_episodes_per_task=10, mw_seeds=2),
    "full": Profile("full", n_demos=100, demo_action_noise=0.1, expert_episodes=200,
                    frame_size=320, pretrain_steps=2000, bc_steps=2000, policy_steps=20000,
                    policy_batch=64, monitor_every=100, train_seeds=5, eval_episodes=100,
                    demo_counts=(10, 25, 50, 100), train_noise_sigmas=(0.1, 0.3),
                    pixel_size=64, pixel_seeds=3, pixel_batch=64, pixel_episodes=50,
                    curve_budgets=(1000, 2000, 5000, 10000, 20000, 40000), curve_seeds=2,
                    search_lrs=(1e-3, 3e-4, 1e-4), mw_demos_per_task=40,
                    mw_episodes_per_task=50, mw_seeds=5),
}


def get_profile(name: str) -> Profile:
    """Look a profile up by name; an unknown one fails with the list of known names."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {list(PROFILES)}")
    return PROFILES[name]
