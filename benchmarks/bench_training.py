"""Training throughput of ``train_jepa`` against a naive loop in the style of the seed.

Run: ``python benchmarks/bench_training.py [--steps 400] [--rounds 3]``

Both loops train the SAME networks (``ACTJEPA`` with the default config: D=128, encoder
256-256, predictor bottleneck 64, concat injection) on 50k random transitions (obs 28,
action 4), batch 256. Only the loop differs:

- naive (seed section 6 style): torch's default thread count, numpy index sampling and a
  host-to-torch copy per batch, plain Adam (for-loop kernels), ``zero_grad()``,
  ``loss.item()`` every step, EMA as a Python loop of ``.data.mul_().add_()`` per parameter.
- fast: ``train_jepa`` as shipped (1 thread, on-device data and seeded randint gather,
  foreach AdamW, foreach EMA, losses read every ``monitor_every`` steps, collapse monitor on).

Variants are interleaved round by round and the median of the rounds is reported, so a
burst of load from another process on the machine hits all of them alike. The machine's
load average is printed: on a shared 2-core machine, other processes change the figures.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not
from actjepa_core.methods.actjepa import JEPAConfig
from actjepa_core.methods.actjepa import build_model, train_jepa

N, O, A = 50_000, 28, 4


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((N, O), dtype=np.float32)
    act = rng.uniform(-1, 1, (N, A)).astype(np.float32)
    nxt = (obs + 0.1 * rng.standard_normal((N, O), dtype=np.float32)).astype(np.float32)
    return obs, act, nxt


def naive_loop(cfg: JEPAConfig, obs, act, nxt, steps: int, threads: int) -> float:
    """Steps/s of a per-step loop written like the seed's reference ``train_step``."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = build_model(cfg)
        encoder, action_encoder, predictor = model.encoder, model.action_encoder, model.predictor
        target_encoder = copy.deepcopy(encoder)
        for p in target_encoder.parameters():
            p.requires_grad = False
        optimizer = torch.optim.Adam(
            list(encoder.parameters()) + list(action_encoder.parameters())
            + list(predictor.parameters()), lr=cfg.lr)
        rng = np.random.default_rng(0)
        tau = 0.996
        t0 = time.perf_counter()
        for _ in range(steps):
            idx = rng.integers(0, N, cfg.batch_size)
            o_t, a_t, o_next = (torch.from_numpy(obs[idx]), torch.from_numpy(act[idx]),
                                torch.from_numpy(nxt[idx]))
            s_t = encoder(o_t)
            e_a = action_encoder(a_t)
            s_hat = predictor.forward(s_t, e_a)
            with torch.no_grad():
                s_target = target_encoder(o_next)
            loss = ((s_hat - s_target) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for p, tp in zip(encoder.parameters(), target_encoder.parameters()):
                    tp.data.mul_(tau).add_(p.data, alpha=1 - tau)
            _ = loss.item()
        return steps / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)


def fast_loop(cfg: JEPAConfig, obs, act, nxt, steps: int, threads: int) -> float:
    """Steps/s of ``train_jepa`` (whole call: setup, monitor and all)."""
    c = copy.deepcopy(cfg)
    c.steps, c.threads = steps, threads
    t0 = time.perf_counter()
    train_jepa(c, obs, act, nxt, progress=False)
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    default_threads = torch.get_num_threads()
    cfg = JEPAConfig(obs_dim=O, action_dim=A, batch_size=256, repr_dim=128, device="cpu",
                     monitor_every=250)
    obs, act, nxt = make_data()
    variants = {
        f"naive, default threads ({default_threads})":
            lambda: naive_loop(cfg, obs, act, nxt, args.steps, default_threads),
        "naive, 1 thread": lambda: naive_loop(cfg, obs, act, nxt, args.steps, 1),
        f"train_jepa, {default_threads} threads":
            lambda: fast_loop(cfg, obs, act, nxt, args.steps, default_threads),
        "train_jepa, 1 thread (shipped default)":
            lambda: fast_loop(cfg, obs, act, nxt, args.steps, 1),
    }
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, default threads "
          f"{default_threads}; batch {cfg.batch_size}, D {cfg.repr_dim}, obs {O}, action {A}, "
          f"{N} transitions; {args.steps} steps x {args.rounds} rounds")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    # warm-up (allocator, MKL/oneDNN kernel selection)
    naive_loop(cfg, obs, act, nxt, 20, 1)
    fast_loop(cfg, obs, act, nxt, 20, 1)
    results: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            results[name].append(fn())
    print(f"load average after:  {os.getloadavg()[0]:.2f}")
    med = {k: statistics.median(v) for k, v in results.items()}
    width = max(map(len, med))
    for name, v in med.items():
        runs = ", ".join(f"{x:.1f}" for x in results[name])
        print(f"{name:<{width}}  {v:7.1f} steps/s   (rounds: {runs})")
    naive_ref = med[f"naive, default threads ({default_threads})"]
    fast = med["train_jepa, 1 thread (shipped default)"]
    print(f"speed-up train_jepa (1 thread) vs naive (default threads): {fast / naive_ref:.2f}x")
    print(f"speed-up train_jepa (1 thread) vs naive (1 thread):        "
          f"{fast / med['naive, 1 thread']:.2f}x")


if __name__ == "__main__":
    main()
