"""What chapter 1 shows of the tasks and the scripted experts' demonstrations, as tested
functions: each returns a table or text, so a notebook cell is a call."""

from __future__ import annotations

import os
import time

import minari
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from . import analysis, data, envs, experts, tables


def layout_table() -> Styler:
    """Per task: its gymnasium id, the sizes of observation and action, and which slice of the
    flat observation holds which part (the layout every probe and plot relies on), each cell
    whole (``tables.wrapped``)."""
    return tables.wrapped(pd.DataFrame([
        {"task": name, "env id": spec.env_id, "obs dim": spec.obs_dim,
         "action dim": spec.action_dim,
         "parts (slice)": ", ".join(f"{k} [{s.start}:{s.stop}]"
                                    for k, s in spec.layout.slices.items())}
        for name, spec in envs.TASKS.items()]).set_index("task"))


def render_frames(size: int) -> tuple[dict[str, np.ndarray] | None, str]:
    """A first frame per task, or ``None`` and why: rendering needs an OpenGL context
    (``MUJOCO_GL``), which a headless machine may lack, and the chapter reads on without it."""
    try:
        return {task: envs.render_frame(task, size=size) for task in envs.TASKS}, ""
    except Exception as err:  # any renderer failure means "no frames", said below
        return None, f"No renderer available (MUJOCO_GL={os.environ.get('MUJOCO_GL')}): {err}"


def expert_table(episodes: int) -> Styler:
    """Each expert's success on its reserved seeds with the 95% Wilson interval, and its speed
    (``experts.check_expert``)."""
    table = pd.DataFrame([experts.check_expert(task, episodes) for task in envs.TASKS])
    table["95% CI"] = [f"[{lo:.1%}, {hi:.1%}]" for lo, hi in zip(table.ci_low, table.ci_high)]
    return (table.set_index("task")[["episodes", "success", "95% CI", "eps_per_s"]]
            .rename(columns={"success": "success rate", "eps_per_s": "episodes / s"})
            .style.format({"success rate": "{:.1%}", "episodes / s": "{:.1f}"}))


def collect(n_demos: int, action_noise: float) -> tuple[dict[str, data.Demonstrations], Styler]:
    """The demonstrations of every task (collected, or loaded when already on disk) and a table
    of what each is: its Minari id, size, and the seconds collecting or loading took."""
    demos, rows = {}, []
    for task in envs.TASKS:
        start = time.perf_counter()
        d = demos[task] = data.demonstrations(task, n_demos, seed=0, action_noise=action_noise)
        rows.append({"task": task, "Minari id": data.dataset_id(task, 0, action_noise),
                     "episodes": d.n_episodes, "transitions": d.n_episodes * d.episode_len,
                     "seconds": time.perf_counter() - start})
    return demos, pd.DataFrame(rows).set_index("task").style.format({"seconds": "{:.1f}"})


def dataset_text(task: str, action_noise: float) -> str:
    """What Minari itself says of a stored dataset: id, environment, size and spaces, read
    back from disk (so the chapter shows the file, not our copy of it)."""
    path = data.data_root() / data.dataset_id(task, 0, action_noise) / "data"
    ds = minari.MinariDataset(str(path))
    return (f"{ds.spec.dataset_id} | {ds.spec.env_spec.id} | {ds.total_episodes} episodes, "
            f"{ds.total_steps} steps\nobservation space: {ds.observation_space}\n"
            f"action space: {ds.action_space}")


def time_to_success_table(demos: dict[str, data.Demonstrations]) -> pd.DataFrame:
    """Per task, count, mean, min, median and max of the step at which each demonstration
    first reaches its goal (``analysis.first_success_steps``)."""
    steps = pd.DataFrame({t: pd.Series(analysis.first_success_steps(d)).describe()
                          for t, d in demos.items()}).T
    return steps[["count", "mean", "min", "50%", "max"]].rename(columns={"50%": "median"}).round(1)


def part_std_table(demos: dict[str, data.Demonstrations]) -> Styler:
    """Mean standard deviation of each part of the observation, per task: the scales the
    normalisation divides by (a part that barely moves is scaled up a lot)."""
    rows = [{"task": task, "part": part, "mean std": float(d.stats.std[sl].mean())}
            for task, d in demos.items()
            for part, sl in envs.get_task(task).layout.slices.items()]
    return (pd.DataFrame(rows).pivot(index="part", columns="task", values="mean std")
            .style.format("{:.4f}", na_rep=""))
