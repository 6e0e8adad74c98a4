"""What chapter 13 (pixels) shows and says, as tested functions.

The pixel suite (``suites.pixel_specs``) runs the article's main and noise tables on rendered
frames, the article's own modality. Every table here puts a pixel cell beside the same cell
on states (chapter 6-7's runs) and beside the article's number, so a reader sees at once
where the modality matters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from . import claims, report_paper, report_results, tables
from .analysis import as_state_tasks, summarize_with_average
from .data import demonstrations
from .envs import add_sensor_noise, get_task, pixel_task
from .pixels import CHANNELS
from .profiles import Profile, get_profile
from .results import current_results, experiment_results
from .suites import BASELINES, NOISE_METHODS
from .verdicts import fmt_pct

ORDER = list(BASELINES.values())
"""Row order of the tables: the main table's methods."""


@dataclass(frozen=True)
class PixelInputs:
    """The rows chapter 13 reads, once."""

    profile: Profile
    pixels: pd.DataFrame | None
    """The pixel suite's episode rows under state task names; None before it has results."""
    states: pd.DataFrame
    """The state main table's episode rows (chapters 6 and 7)."""


def load(profile: str) -> PixelInputs:
    """The pixel suite's rows (None for a full profile not yet committed) and the state rows."""
    rows = current_results("pixels", profile)
    return PixelInputs(get_profile(profile), as_state_tasks(rows) if rows is not None else None,
                       experiment_results("main", profile))


def setup_sentence(inputs: PixelInputs) -> str:
    """What the policies see and how much evidence stands behind each pixel cell."""
    P, rows = inputs.profile, inputs.pixels
    seen = (f"Profile **{P.name}**: every policy sees one {P.pixel_size}×{P.pixel_size} RGB frame "
            "per step, nothing else (no joint or gripper readings, no goal vector: the goal is "
            "the red sphere in the frame)")
    if rows is None:
        return seen + ". " + report_paper.not_run_note("pixels")
    device = ", ".join(sorted(rows.device.unique())) if "device" in rows else "unrecorded"
    return (seen + f"; {rows.seed.nunique()} training seeds per method and task, "
            f"{rows.episode.nunique()} held-out episodes per seed and noise level, "
            f"{len(rows):,} episodes in all, trained and evaluated on **{device}**.")


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    return summarize_with_average(rows, by=("task", "label", "method", "sigma"))


def beside_states(inputs: PixelInputs) -> pd.DataFrame:
    """Per task (and average), method and noise level: our pixel rate with its CI
    (``success, ci_low, ci_high``), the state rate (``states``) and the article's number
    (``claimed_success``, the main table's clean cells and the noise table's averages)."""
    if inputs.pixels is None:
        raise ValueError("the pixel suite has no results in this profile yet")
    pix = _summary(inputs.pixels)
    states = _summary(inputs.states)[["task", "method", "sigma", "success"]]
    out = pix.merge(states.rename(columns={"success": "states"}),
                    on=["task", "method", "sigma"], how="left")
    main = claims.main_table().assign(sigma=0.0)
    noise = claims.noise_table().assign(task="average")
    claimed = pd.concat([main, noise[noise.sigma > 0]], ignore_index=True)
    return out.merge(claimed, on=["task", "method", "sigma"], how="left")


def _cell(r) -> str:
    """Pixel rate and CI, then the state rate and the article's number in small print."""
    beside = f"states {fmt_pct(r.states)}" if pd.notna(r.states) else None
    return tables.rate_cell(r.success, r.ci_low, r.ci_high, r.claimed_success, beside=beside)


def main_styler(table: pd.DataFrame) -> Styler:
    """Methods x tasks, clean: each cell pixels [CI], states, article."""
    clean = table[table.sigma == 0]
    return tables.stacked(clean.assign(cell=[_cell(r) for r in clean.itertuples()]), "label",
                          "task", index_order=ORDER, column_order=tables.TASK_COLUMNS)


def noise_styler(table: pd.DataFrame) -> Styler:
    """The article's noise table (its four methods, task average) on pixels: methods x sigma."""
    avg = table[(table.task == "average") & table.method.isin(NOISE_METHODS)]
    return tables.stacked(avg.assign(cell=[_cell(r) for r in avg.itertuples()]), "label",
                          "sigma", index_order=ORDER, column_name=tables.sigma_label)


def modality_paragraph(table: pd.DataFrame) -> str:
    """The clean task averages on pixels against states: the ranking on each, and ACT-JEPA
    + BC's distance to raw BC, the comparison the article's story rests on."""
    avg = table[(table.task == "average") & (table.sigma == 0)].set_index("method")
    rank = {m: avg[m].sort_values(ascending=False).index.map(BASELINES).tolist()
            for m in ("success", "states")}
    gap = {m: avg.loc["actjepa", m] - avg.loc["raw", m] for m in ("success", "states")}
    return (f"Averaged over the tasks, ACT-JEPA + BC reaches **{fmt_pct(avg.loc['actjepa', 'success'])}** "
            f"on pixels ({fmt_pct(avg.loc['actjepa', 'states'])} on states) and raw pixel BC "
            f"**{fmt_pct(avg.loc['raw', 'success'])}** ({fmt_pct(avg.loc['raw', 'states'])} on "
            f"states): ACT-JEPA + BC is {100 * gap['success']:+.1f} points from raw BC on pixels, "
            f"{100 * gap['states']:+.1f} on states. Ranking on pixels: {', '.join(rank['success'])}; "
            f"on states: {', '.join(rank['states'])}.")


def pixel_probes(profile: str) -> pd.DataFrame | None:
    """The ``pixel_probes`` experiment's rows (None before it has results): linear probes of
    each frozen pixel representation of training seed 0."""
    return current_results("pixel_probes", profile)


RAW_FRAME = "raw frame"
"""The probe column of the run without pretraining: it probes the frame itself, every pixel."""


def probe_table(probes: pd.DataFrame) -> pd.DataFrame:
    """Held-out R² per (task, target) and representation, as chapter 6's table; the run
    without pretraining has no encoder to probe, so its column is the raw frame's."""
    table = report_results.probe_table(probes, ORDER)
    return table.rename(columns={report_results.short_label(BASELINES["raw"]): RAW_FRAME})


def probe_paragraph(probes: pd.DataFrame, pixel_size: int) -> str:
    """What the probe table says: the frozen representations ranked by their mean held-out
    R², the target they keep least, and why the raw frame's fit is no measure of what a frame
    holds (a linear map from every pixel value overfits the training frames)."""
    frozen = probes[probes.method != "raw"]
    if frozen.empty:
        raise ValueError("the probes have no pretrained representation to describe")
    mean = frozen.groupby("label").r2.mean().sort_values(ascending=False)
    ranked = ", ".join(f"{report_results.short_label(k)} {v:.2f}" for k, v in mean.items())
    by_target = frozen.groupby("target").r2.max().sort_values()
    least, best = by_target.index[0], by_target.iloc[0]
    text = (f"Averaged over every task and target, the frozen pixel representations keep, in "
            f"order (mean held-out R²): {ranked}. The quantity they keep least is the "
            f"**{least}** (R² at most {best:.2f}, the best representation on the best task).")
    raw = probes[probes.method == "raw"]
    if raw.empty:
        return text
    below = int((raw.r2 < 0).sum())
    return text + (f" The {RAW_FRAME} scores below zero on {below} of {len(raw)} targets: a "
                   f"linear map from all {CHANNELS * pixel_size ** 2:,} pixel values overfits the "
                   "training frames, so its column says that a frame needs an encoder, not "
                   "that the frame lacks the quantity.")


def example_frames(task: str, size: int, sigmas: tuple[float, ...],
                   action_noise: float) -> dict[float, np.ndarray]:
    """The first frame of the first demonstration of ``task`` at each test-noise level, for
    display: the noise is in units of that one episode's channel std (rendering one episode
    is quick; the policies' statistics come from all their demonstrations), mapped back to
    pixels and clipped to 0..255 (a policy itself gets the unclipped values)."""
    d = demonstrations(pixel_task(task, size), 1, action_noise=action_noise, progress=False)
    frame, layout = d.obs[:1, 0], get_task(d.task).layout
    rng = np.random.default_rng(0)
    out = {}
    for s in sigmas:
        noisy = add_sensor_noise(frame, s, d.stats.std, layout, rng)[0]
        out[s] = np.clip(noisy, 0, 255).astype(np.uint8).reshape(3, size, size).transpose(1, 2, 0)
    return out
