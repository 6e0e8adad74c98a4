"""The book's four experiments as lists of ``RunSpec``, built from a profile.

One protocol for every row: the same demonstrations, encoder architecture, optimiser,
pretraining steps, BC head and BC steps, and the same held-out evaluation episodes; only the
pretraining objective (or the one switch an ablation names) changes. Hyperparameters are
the article's (``config.JEPAConfig`` defaults, its section 5) for every method alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .envs import TASKS, pixel_task
from .gate import CURVE_FACTOR
from .experiments import RunSpec
from .meta_world import MT15
from .methods import registry
from .profiles import Profile

BASELINES: dict[str, str] = {m: registry.row_label(m) for m in
                             ("raw", "autoencoder", "contrastive", "passive", "actjepa")}
"""The main table's methods: pretraining method -> row label (the registry's)."""

NOISE_SIGMAS = (0.0, 0.05, 0.10, 0.20, 0.30)
"""The protocol's test-time sensor-noise levels (standardised units, chapter 7): the levels
of the article's noise table, so each of its numbers has ours beside it."""

NOISE_METHODS = ("raw", "autoencoder", "passive", "actjepa")
"""The methods of the article's noise table."""

ABLATIONS: dict[str, dict] = {
    "full": {},
    "no_action": {"method": "passive"},
    "no_ema": {"jepa": {"ema": False}},
    "tau_0.99": {"jepa": {"tau_fixed": 0.99}},
    "tau_0.9999": {"jepa": {"tau_fixed": 0.9999}},
    "recon": {"method": "recon"},
    "no_bottleneck": {"jepa": {"bottleneck": False}},
    "concat": {},
    "add": {"jepa": {"action_injection": "add"}},
    "film": {"jepa": {"action_injection": "film"}},
}
"""Each row of the article's ablation table (plus FiLM) as overrides of ACT-JEPA + BC."""

REMEDIES: dict[str, dict] = {
    "goal_to_head": {"bc": {"goal_input": True}},
    "finetune_encoder": {"bc": {"finetune": True}},
    "vc_regulariser": {"jepa": {"vc_weight": 1.0}},
    "l2_normalised_loss": {"jepa": {"normalize_loss": True}},
}
"""Extra rows a reviewer would ask for, clearly apart from the article's protocol."""

DATA_METHODS = ("raw", "actjepa")
"""The methods of the article's data-efficiency table."""


def _common(P: Profile) -> dict:
    return dict(demo_action_noise=P.demo_action_noise, pretrain_steps=P.pretrain_steps,
                bc_steps=P.bc_steps, eval_episodes=P.eval_episodes)


def _seeds(P: Profile) -> range:
    return range(P.train_seeds)


def main_specs(P: Profile) -> list[RunSpec]:
    """5 methods x 3 tasks x seeds, each evaluated clean and at every test-noise level."""
    return [RunSpec(task, method=m, seed=s, n_demos=P.n_demos, sigmas=NOISE_SIGMAS,
                    label=BASELINES[m], **_common(P))
            for task in TASKS for m in BASELINES for s in _seeds(P)]


def noisy_demo_specs(P: Profile) -> list[RunSpec]:
    """The noise in the demonstrations too: train and test at the same sigma."""
    return [RunSpec(task, method=m, seed=s, n_demos=P.n_demos, demo_obs_noise=sigma,
                    sigmas=(sigma,), label=BASELINES[m], **_common(P))
            for task in TASKS for m in NOISE_METHODS for sigma in P.train_noise_sigmas
            for s in _seeds(P)]


def _sigmas(n_demos: int, P: Profile, **overrides: dict) -> tuple[float, ...]:
    """A run that is a main-table run (same demos, no override) is evaluated like one, so the
    two tables share a single computation; any other run is evaluated clean only."""
    return NOISE_SIGMAS if n_demos == P.n_demos and not any(overrides.values()) else (0.0,)


def ablation_specs(P: Profile, remedies: bool = True) -> list[RunSpec]:
    """Every ablation row (and, apart, the remedies) on the three tasks."""
    rows = {**ABLATIONS, **(REMEDIES if remedies else {})}
    specs = []
    for name, over in rows.items():
        jepa, bc = over.get("jepa", {}), over.get("bc", {})
        specs += [RunSpec(task, method=over.get("method", "actjepa"), jepa=jepa, bc=bc, seed=s,
                          n_demos=P.n_demos, sigmas=_sigmas(P.n_demos, P, jepa=jepa, bc=bc),
                          label=name, **_common(P))
                  for task in TASKS for s in _seeds(P)]
    return specs


def data_efficiency_specs(P: Profile) -> list[RunSpec]:
    """Raw BC and ACT-JEPA + BC at each demonstration count of the profile."""
    return [RunSpec(task, method=m, seed=s, n_demos=n, sigmas=_sigmas(n, P), label=BASELINES[m],
                    **_common(P))
            for task in TASKS for m in DATA_METHODS for n in P.demo_counts for s in _seeds(P)]


def article_convergence_specs(P: Profile) -> list[RunSpec]:
    """The sanity gate's convergence check of the main table's methods (chapter 10): each at
    the protocol's budget (``P.pretrain_steps`` of pretraining, ``P.bc_steps`` of its BC head;
    the main table's models) and at ``CURVE_FACTOR`` times both, x 3 tasks x the training
    seeds, scored clean on validation episodes."""
    return [RunSpec(task, method=m, seed=s, n_demos=P.n_demos, sigmas=(0.0,), label=BASELINES[m],
                    split="validation", **{**_common(P), "pretrain_steps": f * P.pretrain_steps,
                                           "bc_steps": f * P.bc_steps})
            for m in BASELINES for task in TASKS for f in (1, CURVE_FACTOR) for s in _seeds(P)]


# ------------------------------------------------------------------ policy extraction (5)
EXTRACTION: dict[str, dict] = {
    "raw + BC": {"method": "raw", "protocol": "bc"},
    "raw + NN": {"method": "raw", "protocol": "nn"},
    "ACT-JEPA + BC": {"method": "actjepa", "protocol": "bc"},
    "ACT-JEPA + latent NN": {"method": "actjepa", "protocol": "nn"},
    "ACT-JEPA + latent MPC": {"method": "actjepa", "protocol": "mpc"},
}
"""Chapter 5's ways to get a policy out of a pretrained encoder (row label -> spec fields),
with raw BC and raw nearest neighbours as the controls."""


def extraction_specs(P: Profile, goal_input: bool) -> list[RunSpec]:
    """Every row of ``EXTRACTION`` x 3 tasks x seeds, evaluated clean; the BC heads also get
    the goal when ``goal_input`` (chapter 5's rule, ``report_results.needs_goal_input``)."""
    return [RunSpec(task, seed=s, label=label, n_demos=P.n_demos, **kw,
                    **({"bc": {"goal_input": goal_input}} if kw["protocol"] == "bc" else {}),
                    **_common(P))
            for task in TASKS for label, kw in EXTRACTION.items() for s in _seeds(P)]


def extraction_probe_specs(P: Profile) -> list[RunSpec]:
    """The raw observation and the ACT-JEPA encoder of seed 0 on each task, to probe."""
    return [RunSpec(task, seed=0, method=m, label=label, n_demos=P.n_demos, **_common(P))
            for task in TASKS
            for m, label in (("raw", "raw observation"), ("actjepa", "ACT-JEPA encoder"))]


# ------------------------------------------------------------- the paper's formulation (11-12)
PAPER_METHODS: dict[str, str] = {m: registry.row_label(m) for m in
                                 ("raw", "act", "diffusion_policy", "actjepa_paper")}
"""The chunked comparison's methods -> row label (the registry's); raw BC is the main
table's own row."""

PAPER_DATA_METHODS = ("act", "actjepa_paper")
"""The methods of the chunked data-efficiency curve."""

PAPER_ABLATIONS: dict[str, dict] = {
    "ACT-JEPA (paper)": {},
    "no EMA target": {"policy": {"ema": False}},
    "obs chunk n = 1": {"policy": {"obs_chunk": 1}},
    "obs chunk n = 5": {"policy": {"obs_chunk": 5}},
    "λ = 0 (no latent loss)": {"policy": {"jepa_weight": 0.0}},
    "per-state MLP target (our first build)": {"method": "actjepa_mlp_target"},
}
"""Rows that test the paper's argument, as overrides of ACT-JEPA (paper). λ = 0 is the same
architecture trained on the action loss alone, the control of the latent objective (ACT keeps
its CVAE, this model has none, so ACT is not that control). The last row is the model the
book first built (targets from an EMA copy of a per-state MLP), which failed Reach."""
PAPER_FROZEN: dict[str, dict] = {
    "ACT-JEPA (paper)": {},
    "ACT-JEPA (paper) encoder, frozen + BC": {"protocol": "bc"},
    "ACT": {"method": "act"},
    "ACT encoder, frozen + BC": {"method": "act", "protocol": "bc"},
}
"""The frozen-encoder protocol of chapters 5-9 applied to the encoders trained end to end,
beside the end-to-end policies they come from."""


PAPER_CHUNKED = ("act", "diffusion_policy", "actjepa_paper")
"""The chunked methods the paper's claims compare: each must pass the sanity gate
(``gate``) before its results decide a claim."""

TUNED: dict[str, dict] = {"act": {"lr": 0.0001}, "diffusion_policy": {"lr": 0.001},
                         "actjepa_paper": {"lr": 0.0001}}
"""Each chunked method's settings as the pre-registered search chose them (``gate.tuned_value``
on the validation episodes of ``paper_search``); a method absent here runs its config's
defaults (a chosen default is no override: ``_unless_default``, so its runs share the curves'
keys). ``tests/test_tuning.py`` checks this against the committed search results."""


def _chunked(task: str, method: str, s: int, P: Profile, n_demos: int, sigmas: tuple,
             label: str, protocol: str | None = None, policy: dict | None = None,
             split: str = "test", tuned: bool = True, episodes: int | None = None) -> RunSpec:
    """One run of the chunked comparison: the same demonstrations, held-out episodes and
    optimiser budget (``P.policy_steps``) for every chunked method, each with its ``TUNED``
    settings (unless ``tuned=False``: the curves and the search start from the defaults);
    raw BC is the main table's run, unchanged, so both tables share it. ``episodes``
    replaces the profile's evaluation episodes (Meta-World counts them per task)."""
    common = {**_common(P), **({"eval_episodes": episodes} if episodes else {})}
    if method == "raw":
        return RunSpec(task, method="raw", seed=s, n_demos=n_demos, sigmas=sigmas, label=label,
                       split=split, **common)
    chosen = _unless_default(method, task, **TUNED.get(method, {})) if tuned else {}
    settings = {"steps": P.policy_steps, "batch_size": P.policy_batch, **chosen, **(policy or {})}
    return RunSpec(task, method=method, protocol=protocol or "policy", seed=s, n_demos=n_demos,
                   sigmas=sigmas, label=label, policy=settings, split=split, **common)


def curve_specs(P: Profile, method: str) -> list[RunSpec]:
    """``method``'s learning curve: one run per budget of ``P.curve_budgets`` (its defaults,
    its own warmup and cosine schedule per run) x 3 tasks x ``P.curve_seeds``, scored clean
    on validation episodes."""
    return [_chunked(task, method, s, P, P.n_demos, (0.0,), PAPER_METHODS[method],
                     policy={"steps": b}, split="validation", tuned=False)
            for task in TASKS for b in P.curve_budgets for s in range(P.curve_seeds)]


def search_specs(P: Profile) -> list[RunSpec]:
    """The pre-registered search, the same trials for every chunked method: each learning
    rate of ``P.search_lrs`` at the budget ``P.policy_steps`` x 3 tasks x ``P.curve_seeds``,
    on validation episodes (the label names the value). A method's default rate is not
    written as an override, so that trial is its learning curve's run at the budget, one
    computation for both."""
    return [_chunked(task, m, s, P, P.n_demos, (0.0,), f"{PAPER_METHODS[m]}, lr {lr:g}",
                     policy=_unless_default(m, task, lr=lr), split="validation", tuned=False)
            for m in PAPER_CHUNKED for task in TASKS for lr in P.search_lrs
            for s in range(P.curve_seeds)]


def _unless_default(method: str, task: str, **settings) -> dict:
    """``settings`` less those equal to ``method``'s config defaults on ``task``: a default
    written as an override would give the same run another cache key."""
    cfg = registry.make_config(method, task)
    return {k: v for k, v in settings.items() if getattr(cfg, k) != v}


def convergence_specs(P: Profile, budgets: Mapping[str, int] | None = None) -> list[RunSpec]:
    """The sanity gate's convergence check: each chunked method with its ``TUNED`` settings
    at its budget (``budgets``; by default ``P.policy_steps`` for all) and at twice it x the
    comparison's ``P.train_seeds`` (the check's interval is over seeds,
    ``gate.seed_interval``), on validation episodes. The models at the budget are
    ``paper_main``'s; those of the curves' seeds at twice it are the curves' where the tuned
    settings are the defaults."""
    if budgets is None:
        budgets = {m: P.policy_steps for m in PAPER_CHUNKED}
    return [_chunked(task, m, s, P, P.n_demos, (0.0,), PAPER_METHODS[m],
                     policy={"steps": b}, split="validation")
            for m, start in budgets.items() for task in TASKS
            for b in (start, CURVE_FACTOR * start) for s in _seeds(P)]


DP_DIAGNOSIS: dict[str, dict] = {
    "as first built (2,000 steps, z-scored inputs)": {"steps": 2000, "normalize": False},
    "10,000 steps, z-scored inputs": {"steps": 10000, "normalize": False},
    "10,000 steps, z-scored, lr 1e-4": {"steps": 10000, "normalize": False, "lr": 1e-4},
    "2,000 steps, limits normalisation": {"steps": 2000, "normalize": True},
    "10,000 steps, limits normalisation": {"steps": 10000, "normalize": True},
}
"""Why Diffusion Policy failed Reach, one change at a time (chapter 12): budget, learning
rate, and the authors' normalisation of inputs and actions to their limits."""


ONE_BUDGET: Mapping[str, int] = MappingProxyType({})
"""No method trains longer: the comparison at one budget (read-only, a safe default)."""
CONVERGED: dict[str, int] = {"actjepa_paper": CURVE_FACTOR ** 2}
"""The chunked methods whose convergence check fails at the comparison's budget, as multiples
of ``P.policy_steps``: the converged comparison (``paper_main_converged``) trains each for that
many times the budget, every other method at the budget. ``paper_convergence`` finds ACT-JEPA
(paper) still learning on Pick-and-place at 20,000 steps (87.2%, against an interval from
90.0% at 40,000), and the check at 2x, ``paper_convergence_long``, finds it still learning
there at 40,000 steps (94.4%, against an interval from 95.6% at 80,000), so it trains
4x the budget, checked by ``paper_convergence_longer``. ``tests/test_tuning.py`` checks this
against the committed checks."""
MW_CONVERGED: dict[str, int] = {"act": CURVE_FACTOR ** 2, "actjepa_paper": CURVE_FACTOR ** 2}
"""The same on Meta-World (chapter 14; 15-task validation averages).
``paper_metaworld_convergence`` finds ACT (84.3% at 20,000 steps, against an interval from
89.8% at 40,000) and ACT-JEPA (paper) (89.9%, against one from 92.2%) still learning,
Diffusion Policy flat; the check at 2x, ``paper_metaworld_convergence_long``, finds both still
learning at 40,000 steps (ACT 90.7% against an interval from 94.8% at 80,000; ACT-JEPA (paper)
94.8% against one from 97.1%), so both train 4x the budget, checked by
``paper_metaworld_convergence_longer``."""
LONGER: tuple[int, ...] = (CURVE_FACTOR, CURVE_FACTOR ** 2)
"""The longer budgets a converged comparison may give a method, as multiples of
``P.policy_steps``: a method whose check fails at one of them moves to the next, and each has
its own convergence check (``convergence_long_specs``). ``CONVERGED`` and ``MW_CONVERGED``
hold only these factors; ``tests/test_tuning.py`` checks each against the checks below it."""


def converged_steps(method: str, P: Profile, converged: Mapping[str, int] = CONVERGED) -> int:
    """The optimiser steps ``method`` trains for in a converged comparison (``CONVERGED`` or
    ``MW_CONVERGED``)."""
    return converged.get(method, 1) * P.policy_steps


def _longer(P: Profile, converged: Mapping[str, int], factor: int) -> dict[str, int]:
    """The methods ``converged`` trains for ``factor`` times the budget or longer, at that
    budget: where the check at ``factor`` (one of ``LONGER``) starts. A method trained for 4x
    failed the check at 2x, so it is in both checks, each run once."""
    if factor not in LONGER:
        raise ValueError(f"no convergence check at {factor}x the budget; the longer checks "
                         f"are at {LONGER} (suites.LONGER)")
    return {m: factor * P.policy_steps for m, f in converged.items() if f >= factor}


def paper_main_converged_specs(P: Profile) -> list[RunSpec]:
    """``paper_main`` with each chunked method at its converged budget (``CONVERGED``): where
    budgets must differ, the comparison at which every method's curve has flattened, beside
    the equal-budget one. Its runs of the methods at the budget are ``paper_main``'s; those
    of the methods trained longer share their models with ``paper_convergence``."""
    return paper_main_specs(P, CONVERGED)


def convergence_long_specs(P: Profile, factor: int = CURVE_FACTOR) -> list[RunSpec]:
    """The gate's convergence check at ``factor`` (of ``LONGER``) times the budget: each method
    ``CONVERGED`` trains that long or longer, at that budget and twice it (the runs at that
    budget are the check below's longer ones: ``paper_convergence``'s at 2x)."""
    return convergence_specs(P, _longer(P, CONVERGED, factor))


def dp_diagnosis_specs(P: Profile) -> list[RunSpec]:
    """Each row of ``DP_DIAGNOSIS`` on Reach x ``P.curve_seeds``, validation episodes; the
    smoke and quick profiles cap the steps at ``P.policy_steps``."""
    cap = None if P.name == "full" else P.policy_steps
    return [_chunked("reach", "diffusion_policy", s, P, P.n_demos, (0.0,), label,
                     policy={**over, "steps": min(over["steps"], cap or over["steps"])},
                     split="validation", tuned=False)
            for label, over in DP_DIAGNOSIS.items() for s in range(P.curve_seeds)]


def paper_main_specs(P: Profile, converged: Mapping[str, int] = ONE_BUDGET) -> list[RunSpec]:
    """Raw BC, ACT, Diffusion Policy and ACT-JEPA (paper) x 3 tasks x seeds, at every test
    noise; each chunked method at its budget in ``converged`` (``converged_steps``)."""
    return [_chunked(task, m, s, P, P.n_demos, NOISE_SIGMAS, label,
                     policy={"steps": converged_steps(m, P, converged)})
            for task in TASKS for m, label in PAPER_METHODS.items() for s in _seeds(P)]


def paper_data_efficiency_specs(P: Profile) -> list[RunSpec]:
    """ACT and ACT-JEPA (paper) at each demonstration count of the profile."""
    return [_chunked(task, m, s, P, n, _sigmas(n, P), PAPER_METHODS[m])
            for task in TASKS for m in PAPER_DATA_METHODS for n in P.demo_counts
            for s in _seeds(P)]


def _override_rows(rows: dict[str, dict], P: Profile) -> list[RunSpec]:
    """Each row of ``rows`` (overrides of ACT-JEPA (paper)) on the three tasks, evaluated clean;
    a row that is a main-comparison run is evaluated like it, so the two share one computation."""
    specs = []
    for label, over in rows.items():
        method, protocol = over.get("method", "actjepa_paper"), over.get("protocol", "policy")
        main_run = protocol == "policy" and not over.get("policy")
        specs += [_chunked(task, method, s, P, P.n_demos, NOISE_SIGMAS if main_run else (0.0,),
                           label, protocol, over.get("policy"))
                  for task in TASKS for s in _seeds(P)]
    return specs


def paper_ablation_specs(P: Profile) -> list[RunSpec]:
    """Every row of ``PAPER_ABLATIONS`` on the three tasks."""
    return _override_rows(PAPER_ABLATIONS, P)


def paper_frozen_specs(P: Profile) -> list[RunSpec]:
    """Every row of ``PAPER_FROZEN`` on the three tasks."""
    return _override_rows(PAPER_FROZEN, P)


def paper_world_model_specs(P: Profile) -> list[RunSpec]:
    """The trained ACT and ACT-JEPA (paper) of the main comparison, whose encoders are probed
    for the future (``experiments.Runner.probe_future``)."""
    return [_chunked(task, m, s, P, P.n_demos, NOISE_SIGMAS, PAPER_METHODS[m])
            for task in TASKS for m in PAPER_DATA_METHODS for s in _seeds(P)]


def paper_world_model_converged_specs(P: Profile) -> list[RunSpec]:
    """The same probes of the converged comparison's ACT and ACT-JEPA (paper)."""
    return [s for s in paper_main_converged_specs(P) if s.method in PAPER_DATA_METHODS]


def paper_metaworld_specs(P: Profile, converged: Mapping[str, int] = ONE_BUDGET) -> list[RunSpec]:
    """The paper's benchmark (chapter 14): raw BC, ACT, Diffusion Policy and ACT-JEPA (paper),
    one multi-task policy each on the 15 Meta-World tasks (``meta_world``) x ``P.mw_seeds``,
    with the chunked comparison's budget (or each method's in ``converged``) and tuned
    settings, evaluated at every test noise on ``P.mw_episodes_per_task`` episodes of every
    task."""
    n_tasks = len(MT15)
    return [_chunked("metaworld", m, s, P, P.mw_demos_per_task * n_tasks, NOISE_SIGMAS, label,
                     policy={"steps": converged_steps(m, P, converged)},
                     episodes=P.mw_episodes_per_task * n_tasks)
            for m, label in PAPER_METHODS.items() for s in range(P.mw_seeds)]


def paper_metaworld_convergence_specs(P: Profile, budgets: Mapping[str, int] | None = None
                                      ) -> list[RunSpec]:
    """Is the Fetch budget long enough on Meta-World? Each chunked method of
    ``paper_metaworld`` at its budget (``budgets``; by default the comparison's) and at twice
    it x ``P.mw_seeds``, on validation episodes of every task (the runs at the budget are the
    comparison's own models)."""
    n_tasks = len(MT15)
    if budgets is None:
        budgets = {m: P.policy_steps for m in PAPER_CHUNKED}
    return [_chunked("metaworld", m, s, P, P.mw_demos_per_task * n_tasks, (0.0,),
                     PAPER_METHODS[m], policy={"steps": b}, split="validation",
                     episodes=P.mw_episodes_per_task * n_tasks)
            for m, start in budgets.items() for b in (start, CURVE_FACTOR * start)
            for s in range(P.mw_seeds)]


def paper_metaworld_converged_specs(P: Profile) -> list[RunSpec]:
    """``paper_metaworld`` with each method at its converged budget (``MW_CONVERGED``)."""
    return paper_metaworld_specs(P, MW_CONVERGED)


def metaworld_convergence_long_specs(P: Profile, factor: int = CURVE_FACTOR) -> list[RunSpec]:
    """Meta-World's convergence check at ``factor`` (of ``LONGER``) times the budget, for the
    methods ``MW_CONVERGED`` trains that long or longer."""
    return paper_metaworld_convergence_specs(P, _longer(P, MW_CONVERGED, factor))


# ------------------------------------------------------------------------------ pixels (13)
def pixel_specs(P: Profile) -> list[RunSpec]:
    """The main table's five methods on frames (``envs.pixel_task``) x 3 tasks x the pixel
    seeds, each evaluated at every test-noise level on ``P.pixel_episodes`` held-out
    episodes: the article's main and noise tables in the article's own modality. The same
    demonstrations (their frames), steps and BC head as the state rows; every pixel model,
    pretrained or BC, takes ``P.pixel_batch`` frames per step."""
    common = {**_common(P), "eval_episodes": P.pixel_episodes,
              "bc": {"batch_size": P.pixel_batch}}
    return [RunSpec(pixel_task(task, P.pixel_size), method=m, seed=s, n_demos=P.n_demos,
                    sigmas=NOISE_SIGMAS, label=BASELINES[m],
                    jepa={} if m == "raw" else {"batch_size": P.pixel_batch}, **common)
            for task in TASKS for m in BASELINES for s in range(P.pixel_seeds)]


def pixel_probe_specs(P: Profile) -> list[RunSpec]:
    """The pixel suite's runs of training seed 0, whose frozen representations chapter 13
    probes (``experiments.Runner.probe_encoders``)."""
    return [s for s in pixel_specs(P) if s.seed == 0]


EXPERIMENTS = {
    "main": main_specs,
    "noisy_demos": noisy_demo_specs,
    "ablations": ablation_specs,
    "data_efficiency": data_efficiency_specs,
    "convergence": article_convergence_specs,
    "paper_main": paper_main_specs,
    "paper_main_converged": paper_main_converged_specs,
    "paper_data_efficiency": paper_data_efficiency_specs,
    "paper_ablations": paper_ablation_specs,
    "paper_frozen_encoder": paper_frozen_specs,
    "paper_world_model": paper_world_model_specs,
    "paper_world_model_converged": paper_world_model_converged_specs,
    **{f"paper_curves_{m}": (lambda P, m=m: curve_specs(P, m)) for m in PAPER_CHUNKED},
    "paper_search": search_specs,
    "paper_convergence": convergence_specs,
    "paper_convergence_long": convergence_long_specs,
    "paper_convergence_longer": lambda P: convergence_long_specs(P, LONGER[1]),
    "paper_dp_diagnosis": dp_diagnosis_specs,
    "paper_metaworld": paper_metaworld_specs,
    "paper_metaworld_convergence": paper_metaworld_convergence_specs,
    "paper_metaworld_converged": paper_metaworld_converged_specs,
    "paper_metaworld_convergence_long": metaworld_convergence_long_specs,
    "paper_metaworld_convergence_longer": lambda P: metaworld_convergence_long_specs(P, LONGER[1]),
    "pixels": pixel_specs,
    "pixel_probes": pixel_probe_specs,
}
"""Experiment name -> spec builder; each is one CSV under ``results/``."""

PROBE_EXPERIMENTS: dict[str, str] = {"paper_world_model": "probe_future",
                                     "paper_world_model_converged": "probe_future",
                                     "pixel_probes": "probe_encoders"}
"""Experiments whose rows are probe scores of trained models, not evaluation episodes ->
the ``experiments.Runner`` method that scores them."""
