"""Does training several models in one batched matmul pay on this CPU?

The full profile trains hundreds of small models (one per seed and configuration). Stacking
K models' weights and running them with ``torch.bmm`` (what ``torch.func``-style ensembling
does) only pays if one step of K stacked models costs less than K steps of one. This times a
forward and backward pass of the encoder MLP (obs 28 -> 256 -> 256 -> D 128, batch 256, one
thread) for K = 1 and K stacked models, and prints model-steps per second for each.

    python benchmarks/bench_batched_models.py --models 5
"""

from __future__ import annotations

import argparse
import time

import torch

DIMS = (28, 256, 256, 128)
"""Widths of the encoder MLP of the seed's configuration (obs 28 for Push/Pick-and-Place)."""


def step(weights: list[torch.Tensor], x: torch.Tensor) -> None:
    """One forward and backward pass of K stacked MLPs (ReLU between layers)."""
    h = x
    for i, w in enumerate(weights):
        h = torch.bmm(h, w)
        if i < len(weights) - 1:
            h = torch.relu(h)
    h.square().mean().backward()


def model_steps_per_second(k: int, batch: int, steps: int) -> float:
    gen = torch.Generator().manual_seed(0)
    weights = [torch.randn(k, a, b, generator=gen, requires_grad=True)
               for a, b in zip(DIMS[:-1], DIMS[1:])]
    x = torch.randn(k, batch, DIMS[0], generator=gen)
    for _ in range(20):  # warm-up
        step(weights, x)
    t = time.perf_counter()
    for _ in range(steps):
        step(weights, x)
    return k * steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=5, help="models stacked in one bmm")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rates: dict[int, list[float]] = {1: [], args.models: []}
    for _ in range(args.rounds):  # interleaved, so background load hits both alike
        for k in rates:
            rates[k].append(model_steps_per_second(k, args.batch, args.steps))
    print(f"encoder MLP {DIMS}, batch {args.batch}, 1 thread, median of {args.rounds} rounds")
    base = sorted(rates[1])[len(rates[1]) // 2]
    for k, r in rates.items():
        med = sorted(r)[len(r) // 2]
        print(f"{k:>3} model(s) per step: {med:8.0f} model-steps/s ({med / base:.2f}x one model)")


if __name__ == "__main__":
    main()
