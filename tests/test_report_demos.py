"""Chapter 1's tables, on hand-made demonstrations whose numbers are known."""

from __future__ import annotations

import numpy as np
import pytest

from actjepa_core import envs, report_demos
from actjepa_core.data import Demonstrations


def demos(task: str = "reach", first_goal_steps: tuple = (3, 5, None)) -> Demonstrations:
    """Episodes of 10 steps whose reward first reaches 0 at the given step (None: never)."""
    spec = envs.get_task(task)
    E, T = len(first_goal_steps), 10
    rewards = -np.ones((E, T), np.float32)
    for e, step in enumerate(first_goal_steps):
        if step is not None:
            rewards[e, step - 1:] = 0.0
    obs = np.zeros((E, T + 1, spec.obs_dim), np.float32)
    obs[:, :, 0] = np.arange(T + 1)  # the first dimension moves; the others do not
    return Demonstrations(task, obs, np.zeros((E, T, spec.action_dim), np.float32), rewards,
                          np.array([s is not None for s in first_goal_steps]), np.arange(E))


def test_layout_table_lists_each_task_with_its_slices() -> None:
    table = report_demos.layout_table().data
    assert list(table.index) == list(envs.TASKS)
    assert table.loc["push", "obs dim"] == envs.get_task("push").obs_dim
    first = next(iter(envs.get_task("reach").layout.slices.items()))
    assert table.loc["reach", "parts (slice)"].startswith(
        f"{first[0]} [{first[1].start}:{first[1].stop}]")


def test_time_to_success_counts_only_episodes_that_reach_the_goal() -> None:
    table = report_demos.time_to_success_table({"reach": demos()})
    row = table.loc["reach"]
    assert (row["count"], row["mean"], row["min"], row["median"], row["max"]) == (2, 4, 3, 4, 5)


def test_part_std_table_reads_the_normalisation_scale_of_each_part() -> None:
    d = demos()
    table = report_demos.part_std_table({"reach": d}).data
    layout = envs.get_task("reach").layout
    part0 = next(k for k, s in layout.slices.items() if s.start == 0)
    assert table.loc[part0, "reach"] == pytest.approx(float(d.stats.std[layout[part0]].mean()))
    assert list(table.index) == sorted(layout.slices)


def test_render_frames_reports_why_instead_of_failing(monkeypatch) -> None:
    def no_gl(*args, **kwargs):
        raise RuntimeError("no OpenGL context")

    monkeypatch.setattr(envs, "render_frame", no_gl)
    frames, why = report_demos.render_frames(64)
    assert frames is None and "no OpenGL context" in why and why.startswith("No renderer")
