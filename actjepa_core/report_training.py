"""What chapters 3 and 4 train and say about pretraining, as tested functions.

Chapter 3 trains ACT-JEPA and reads its history (loss, schedules, drift); chapter 4 trains it
with five target configurations and reads the collapse monitor. Each function here does one of
their steps: it trains the runs the chapter shows, or takes the histories they return and gives
back a table or the text of a paragraph. A notebook cell is then a call, and every number in a
sentence, and every rule that picks a sentence, is tested (``tests/test_report_training.py``)
on histories whose answer is known. Whether a configuration *collapses* is never decided here:
the monitor's thresholds flag readings (``monitor``), and the one verdict on the article's
claim is ``verdicts.collapse_verdict`` (through ``report_article.no_ema_paragraph``).
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pandas.io.formats.style import Styler

from . import analysis, claims, data, envs, monitor, tables, training
from .methods import actjepa
from .methods.actjepa import JEPAConfig
from .profiles import Profile
from .report_article import FULL, NO_EMA
from .runtime import resolve_device


# ----------------------------------------------------------------------- runs and their data
def transitions(P: Profile, task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(o_t, a_t, o_{t+1})`` of the profile's demonstrations of ``task`` (seed 0): the data
    every pretraining run of chapters 3 and 4 sees, so all of them train on the same episodes."""
    demos = data.demonstrations(task, P.n_demos, seed=0, action_noise=P.demo_action_noise,
                                progress=False)
    return demos.transitions()


def jepa_config(P: Profile, obs: np.ndarray, actions: np.ndarray, **overrides) -> JEPAConfig:
    """The default configuration (the article's hyperparameters) sized for ``obs`` and
    ``actions``, with the profile's steps and monitor interval; ``overrides`` change the one
    switch a run is about (``seed``, ``ema``, ``tau_fixed``, ``monitor_every``)."""
    settings = {"steps": P.pretrain_steps, "monitor_every": P.monitor_every, **overrides}
    return JEPAConfig(obs_dim=obs.shape[1], action_dim=actions.shape[1], **settings)


@dataclass(frozen=True)
class Run:
    """One timed pretraining run, with what the chapter says about it: the configuration, the
    trained model, its history (``actjepa.train_jepa``), the wall time in seconds and the number
    of transitions it was trained on."""

    cfg: JEPAConfig
    model: actjepa.ACTJEPA
    history: pd.DataFrame
    seconds: float
    transitions: int


def timed_training(cfg: JEPAConfig, obs: np.ndarray, actions: np.ndarray,
                   next_obs: np.ndarray) -> Run:
    """``actjepa.train_jepa`` without a progress bar, timed: the chapter reports the speed."""
    t0 = time.perf_counter()
    model, history = actjepa.train_jepa(cfg, obs, actions, next_obs, progress=False)
    return Run(cfg, model, history, time.perf_counter() - t0, len(obs))


def train_tasks(P: Profile, tasks: Iterable[str] = tuple(envs.TASKS)) -> dict[str, Run]:
    """The default configuration, seed 0, on the demonstrations of every task (chapter 3)."""
    runs = {}
    for task in tasks:
        obs, actions, next_obs = transitions(P, task)
        runs[task] = timed_training(jepa_config(P, obs, actions, seed=0), obs, actions, next_obs)
    return runs


def stack_runs(runs: Mapping[object, Run], names: tuple[str, ...] = ("run",)) -> pd.DataFrame:
    """The runs' histories in one long frame (``analysis.stack_histories``), for the figures."""
    return analysis.stack_histories({k: r.history for k, r in runs.items()}, names=names)


# ------------------------------------------------------------------------ chapter 3: the loss
def initial_loss(history: pd.DataFrame) -> float:
    """Mean loss over the first 1 % of the steps (at least one): one step is too noisy."""
    return float(history["loss"].iloc[: max(1, len(history) // 100)].mean())


def final_loss(history: pd.DataFrame) -> float:
    """Mean loss over the last 10 % of the steps (at least one): where training ends, without
    the noise of the last batch."""
    return float(history["loss"].iloc[-max(1, len(history) // 10):].mean())


def smoothed_loss(history: pd.DataFrame, by: tuple[str, ...] = ()) -> pd.Series:
    """Centred rolling mean of the loss over a fiftieth of each run's steps (the window of
    ``plots.training.plot_loss``), run by run when ``by`` names the columns of stacked runs:
    the per-step loss is too noisy to read a minimum or a peak from."""
    def smooth(loss: pd.Series) -> pd.Series:
        return loss.rolling(max(1, len(loss) // 50), min_periods=1, center=True).mean()

    if not by:
        return smooth(history["loss"])
    return history.groupby(list(by), sort=False)["loss"].transform(smooth)


def training_sentence(run: Run) -> str:
    """How long the run took, how fast, where, and whether the loss fell from start to end."""
    steps, start, end = run.cfg.steps, initial_loss(run.history), final_loss(run.history)
    return (f"{steps} steps on {run.transitions} transitions took {run.seconds:.1f} s "
            f"({steps / run.seconds:.0f} steps/s on `{resolve_device(run.cfg.device)}`). The loss "
            f"{'fell' if end < start else 'rose'} from {start:.3g} (first 1 % of the steps) "
            f"to {end:.3g} (mean of the last 10 %).")


NOT_MONOTONE = 1.2
"""The smoothed loss counts as not monotone when it ends above this multiple of its minimum."""


def smoothed_loss_sentence(history: pd.DataFrame) -> str:
    """Where the smoothed loss is lowest and where it ends; when it ends well above its minimum
    (``NOT_MONOTONE``), why a latent loss against a moving target may rise."""
    smooth = smoothed_loss(history)
    k_min = smooth.idxmin()
    text = (f"The smoothed loss reaches its lowest value, {smooth[k_min]:.3g}, at step "
            f"{int(history.loc[k_min, 'step'])}, and ends at {smooth.iloc[-1]:.3g}. ")
    if smooth.iloc[-1] > NOT_MONOTONE * smooth[k_min]:
        return text + ("It is not monotone. Unlike a supervised loss, it is measured against a "
                       "moving target: the target encoder keeps changing, and the scale and "
                       "spread of its representation change with it, so losses at different "
                       "steps measure different problems. A rising latent loss is not by itself "
                       "a sign that training went wrong, nor a falling one that it went right.")
    return text + "Over this run it decreases nearly monotonically."


def drift_sentence(history: pd.DataFrame) -> str:
    """Peak and final drift between the online and the target encoder (monitor readings)."""
    mon = analysis.monitor_rows(history)
    peak = mon.loc[mon["drift"].idxmax()]
    return (f"The drift peaks at {peak['drift']:.3f} (step {int(peak['step'])}) and ends at "
            f"{mon['drift'].iloc[-1]:.3f}: the target encoder is a genuinely different network "
            f"from the online one, lagging it by that fraction of its weight norm.")


# ------------------------------------------------------------------ chapter 3: live checks
def _check_table(rows: list[tuple[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["check", "result"]).set_index("check")


def gradient_and_ema_checks(cfg: JEPAConfig, obs: np.ndarray, actions: np.ndarray,
                            next_obs: np.ndarray, tau: float = 0.996) -> pd.DataFrame:
    """Back-propagate the loss of the first batch through a fresh model, take one optimiser
    step and one EMA step with ``tau``: which parameters got a gradient (every online one,
    no target one) and how far the EMA result is from ``tau * target + (1 - tau) * online``.
    A missing ``detach`` or a wrong update shows here, on the real model, not in a unit test."""
    model = actjepa.build_model(cfg).train()
    batch = [torch.as_tensor(x[: cfg.batch_size]) for x in (obs, actions, next_obs)]
    loss, _ = model(*batch)
    loss.backward()
    online_grads = [p.grad for p in model.trainable_parameters()]
    target = list(model.target_encoder.parameters())
    opt, _ = training.make_optimizer(model.trainable_parameters(), cfg)
    opt.step()
    expected = [tau * t.detach() + (1 - tau) * p.detach()
                for t, p in zip(target, model.encoder.parameters())]
    training.ema_update(model.target_encoder, model.encoder, tau)
    ema_error = max((t - e).abs().max().item() for t, e in zip(target, expected))
    nonzero = sum(g is not None and bool(g.abs().sum() > 0) for g in online_grads)
    return _check_table([
        ("online parameter tensors with a nonzero gradient", f"{nonzero} of {len(online_grads)}"),
        ("target parameter tensors with requires_grad",
         f"{sum(t.requires_grad for t in target)} of {len(target)}"),
        ("target parameter tensors with a gradient",
         f"{sum(t.grad is not None for t in target)} of {len(target)}"),
        ("max |EMA result - formula| over all target weights", f"{ema_error:.1e}"),
    ])


def checkpoint_roundtrip(run: Run) -> pd.DataFrame:
    """Save the run's model with ``actjepa.save_checkpoint`` into a temporary folder, load it
    back, and say what came back identical (weights bit for bit, config, history, step)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = actjepa.save_checkpoint(Path(tmp) / "checkpoint.pt", run.model, run.cfg,
                                     run.history, step=run.cfg.steps)
        size_kb = path.stat().st_size / 1024
        ckpt = actjepa.load_checkpoint(path)
    saved, loaded = run.model.state_dict(), ckpt.model.state_dict()
    identical = sum(torch.equal(saved[k].cpu(), loaded[k]) for k in saved)
    return _check_table([
        ("tensors in the state dict (saved / loaded)", f"{len(saved)} / {len(loaded)}"),
        ("tensors bit-identical", f"{identical} of {len(saved)}"),
        ("config identical", ckpt.cfg.to_dict() == run.cfg.to_dict()),
        ("history identical", ckpt.history.equals(run.history)),
        ("step", ckpt.step),
        ("file size", f"{size_kb:.0f} KiB"),
    ])


TASK_FORMAT = {"initial loss": "{:.3g}", "final loss": "{:.3g}", "final effective rank": "{:.1f}",
               "final drift": "{:.3f}", "seconds": "{:.1f}"}
"""How chapter 3 shows the columns of ``task_table``."""


def task_table(runs: Mapping[str, Run]) -> pd.DataFrame:
    """One row per task: transitions, initial and final loss (``initial_loss``,
    ``final_loss``), the online encoder's effective rank and the drift at the last monitor
    reading, and the wall time of the run."""
    rows = []
    for task, run in runs.items():
        last = analysis.monitor_rows(run.history).iloc[-1]
        rows.append({"task": task, "transitions": run.transitions,
                     "initial loss": initial_loss(run.history),
                     "final loss": final_loss(run.history),
                     "final effective rank": last["online_erank"], "final drift": last["drift"],
                     "seconds": run.seconds})
    return pd.DataFrame(rows).set_index("task")


# ------------------------------------------------------------- chapter 4: the monitor on toys
def default_repr_dim() -> int:
    """The representation width D of the default configuration, which every run here has."""
    return JEPAConfig(obs_dim=1, action_dim=1).repr_dim


def toy_embeddings(dim: int, n: int = 1024, seed: int = 0) -> dict[str, torch.Tensor]:
    """Three batches of ``n`` embeddings of width ``dim`` whose answer is known: Gaussian
    (every direction used), on a line through a common offset (one direction), and one vector
    repeated (total collapse)."""
    gen = torch.Generator().manual_seed(seed)
    offset = torch.randn(dim, generator=gen)
    gaussian = torch.randn(n, dim, generator=gen)
    line = offset + torch.randn(n, 1, generator=gen) * torch.randn(1, dim, generator=gen)
    return {"Gaussian, all directions": gaussian, "on a line (offset + t v)": line,
            "one repeated vector": offset.expand(n, dim).clone()}


TOY_FORMAT = {"std": "{:.4f}", "erank": "{:.2f}", "cos": "{:.3f}", "collapsed": "{:.0f}"}
"""How chapter 4 shows the columns of ``toy_table``."""


def toy_table(dim: int) -> pd.DataFrame:
    """``monitor.check_collapse`` of each batch of ``toy_embeddings``: one row per batch,
    columns std, erank, cos, collapsed. Two of them are collapsed on purpose, so their
    ``CollapseWarning`` is silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", monitor.CollapseWarning)
        return pd.DataFrame({name: monitor.check_collapse(z)
                             for name, z in toy_embeddings(dim).items()}).T


def thresholds_paragraph(toy: pd.DataFrame, dim: int) -> str:
    """The monitor's two thresholds in numbers for width ``dim`` (``monitor``'s constants),
    and the effective ranks of the three toy batches of ``toy_table``."""
    frac = monitor.STD_COLLAPSE_FRACTION
    return (f"With D = {dim}, the healthy std is about 1/sqrt(D) = {1 / math.sqrt(dim):.4f}. The "
            f"monitor flags a representation as **collapsed** when its std falls below "
            f"`STD_COLLAPSE_FRACTION` / sqrt(D) = {frac:g} / sqrt({dim}) = "
            f"{frac / math.sqrt(dim):.4f}, "
            f"a tenth of the healthy value, **or** its effective rank falls below "
            f"`ERANK_COLLAPSE` = {monitor.ERANK_COLLAPSE:g} (the embeddings lie near a line). "
            f"These thresholds flag a gross failure; a representation can be much less healthy "
            f"than the Gaussian batch without being flagged. In the table, the Gaussian batch "
            f"has an effective rank of {toy.loc['Gaussian, all directions', 'erank']:.1f} (not "
            f"{dim}: the singular values of a finite random matrix are not all equal), the line "
            f"{toy.loc['on a line (offset + t v)', 'erank']:.2f}, the repeated vector "
            f"{toy.loc['one repeated vector', 'erank']:.0f}.")


# --------------------------------------------------- chapter 4: five target configurations
TARGET_CONFIGS: dict[str, dict] = {
    FULL: {},
    NO_EMA: {"ema": False},
    "τ = 0.99": {"tau_fixed": 0.99},
    "τ = 0.996": {"tau_fixed": 0.996},
    "τ = 0.9999": {"tau_fixed": 0.9999},
}
"""Chapter 4's target configurations -> their ``JEPAConfig`` overrides: the default EMA
schedule, no EMA (the target is the online encoder under stop-gradient), three fixed momenta."""

MONITOR_FINER = 5
"""Chapter 4 reads the monitor this many times as often as the profile's ``monitor_every``:
a collapse can happen, and partly recover, between two coarse readings."""


def train_target_configs(P: Profile, obs: np.ndarray, actions: np.ndarray,
                         next_obs: np.ndarray) -> tuple[pd.DataFrame, float]:
    """Every configuration of ``TARGET_CONFIGS`` with each of the profile's training seeds on
    the same transitions: the stacked histories (columns ``config`` and ``seed`` added) and
    the wall time in seconds. Collapse is what is looked for here, so the monitor's
    ``CollapseWarning`` is kept from printing; every flagged reading stays in the history
    (``online_collapsed``, ``target_collapsed``), where ``flagged_readings`` counts them."""
    every = max(1, P.monitor_every // MONITOR_FINER)
    histories = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", monitor.CollapseWarning)
        for name, overrides in TARGET_CONFIGS.items():
            for seed in range(P.train_seeds):
                cfg = jepa_config(P, obs, actions, monitor_every=every, seed=seed, **overrides)
                _, histories[(name, seed)] = actjepa.train_jepa(cfg, obs, actions, next_obs,
                                                              progress=False)
    seconds = time.perf_counter() - t0
    return analysis.stack_histories(histories, names=("config", "seed")), seconds


def runs_sentence(history: pd.DataFrame, seconds: float, transitions: int,
                  task: str = "Push") -> str:
    """How many runs of how many steps the stacked ``history`` holds, and how long they took."""
    runs = len(history[["config", "seed"]].drop_duplicates())
    return (f"{runs} runs of {int(history['step'].max())} steps on {transitions} {task} "
            f"transitions took {seconds:.0f} s.")


def no_ema_loss_sentence(history: pd.DataFrame) -> str:
    """The peak of the no-EMA runs' smoothed loss beside the default EMA's: an instability of
    encoder and predictor chasing each other shows in the loss, not in a representation
    figure. The start is the loss at step 1, averaged per configuration, then over them."""
    peak = smoothed_loss(history, by=("config", "seed")).groupby(history["config"],
                                                                   sort=False).max()
    start = history[history["step"] == 1].groupby("config", sort=False)["loss"].mean()
    return (f"Starting from a loss of about {start.mean():.3g}, the smoothed loss of the no-EMA "
            f"runs peaks at {peak[NO_EMA]:.3g} (the default EMA runs: {peak[FULL]:.3g}). "
            f"Without EMA the target moves with every update of the online encoder, and encoder "
            f"and predictor chase each other; a large excursion of the loss is a sign of that "
            f"instability, which a representation figure alone does not show.")


def flagged_readings(history: pd.DataFrame, by: str = "config") -> pd.Series:
    """Per ``by`` value, the readings of the online encoder that the monitor flagged as
    collapsed, over all seeds and all of training: a collapse that recovers before the end
    shows here and nowhere in the final figures."""
    return (analysis.monitor_rows(history).groupby(by, sort=False)["online_collapsed"].sum()
            .astype(int).rename("flagged readings"))


def _mean_sd(mean: float, sd: float, fmt: str) -> str:
    """A mean in bold over its standard deviation across seeds, in small print."""
    return f"<b>{fmt.format(mean)}</b><br><small>± {fmt.format(sd)}</small>"


def summary_display(summary: pd.DataFrame) -> Styler:
    """``collapse_summary`` as chapter 4 shows it, narrow enough for the page: each monitor
    figure's mean over seeds with its standard deviation under it, the lowest effective rank
    read during training under the final one, then the share of seeds flagged at the end, the
    final loss and the flagged readings."""
    s = summary
    shown = pd.DataFrame({
        "seeds": s.seeds.astype(int).astype(str),
        "online std": [_mean_sd(m, sd, "{:.4f}") for m, sd in zip(s.online_std, s.online_std_sd)],
        "online erank": [_mean_sd(m, sd, "{:.1f}") + f"<br><small>lowest {lo:.1f}</small>"
                         for m, sd, lo in zip(s.online_erank, s.online_erank_sd,
                                              s.online_erank_lowest)],
        "target erank": s.target_erank.map("{:.1f}".format),
        "seeds collapsed": s.collapsed.map("{:.0%}".format),
        "final loss": s.final_loss.map("{:.3g}".format),
        "flagged readings": s["flagged readings"].astype(int).astype(str),
    }, index=s.index)
    return shown.style.set_table_styles(tables.CELL_CSS)


def collapse_summary(history: pd.DataFrame) -> pd.DataFrame:
    """``analysis.summarize_final`` of the stacked runs plus their ``flagged_readings``: the
    table ``report_article.no_ema_paragraph`` and ``no_ema_note`` read."""
    summary = analysis.summarize_final(history)
    summary["flagged readings"] = flagged_readings(history)
    return summary


def article_claim(config: str) -> str:
    """What the article's ablation table reports for a target configuration
    (``claims.TARGET_ABLATIONS``, ``claims.ABLATIONS``): an average success, "Collapsed", or
    "(no row)" when it has no row for it."""
    key = claims.TARGET_ABLATIONS.get(config)
    if key is None:
        return "(no row)"
    value = claims.ABLATIONS[key]
    if value is None:
        return "Collapsed"
    return f"{100 * value:.1f} % avg success" + (" (full ACT-JEPA)" if key == "full" else "")


def claims_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per configuration of ``collapse_summary``: the article's claim (``article_claim``)
    beside what the monitor measured: seeds flagged at the end, final and lowest effective
    rank, final std, flagged readings. The article's success rates are tested by the policies
    of chapter 8; the representation is what this table is about."""
    return pd.DataFrame({
        "article's claim": summary.index.map(article_claim),
        "seeds flagged collapsed": summary["collapsed"].map("{:.0%}".format),
        "effective rank at the end": summary["online_erank"].map("{:.1f}".format),
        "lowest effective rank": summary["online_erank_lowest"].map("{:.1f}".format),
        "std at the end": summary["online_std"].map("{:.4f}".format),
        "flagged readings": summary["flagged readings"],
    }, index=summary.index).rename_axis("configuration")
