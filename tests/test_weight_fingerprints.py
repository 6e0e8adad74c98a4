"""Guard for the refactor of issue 25: a smoke-size training of every method gives the weights
it gave before the move. Each method trains for a few steps on Reach through the runner (the
path every committed run took); the fingerprint of its weights (per tensor: sum, sum of
squares, first values) must match the stored one. A refactor that changes what a method
computes, an initialisation order or a batch draw, fails here on purpose.

The guard must hold on any x86 CPU, whose kernels round differently (vector width, MKL's and
oneDNN's code paths). Two things follow. The attention layers' key biases are left out
(``helpers.weight_fingerprint(without_key_bias=True)``: their gradient is rounding noise). And
the tolerance is 1e-3 relative (1e-6 absolute): between fingerprints stored on one machine and
recomputed on an AVX2 one, the largest other difference was 6.5e-4 relative, in a bias of size
1e-3 (Diffusion Policy's); one more step of pretraining or policy training changes 10 to 200
of each such method's tensors by more than that (measured when this tolerance was set).

Regenerate the stored fingerprints only for a change meant to alter training, and say so:
``python tests/test_weight_fingerprints.py --write``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from actjepa_core.experiments import METHODS, RunSpec, Runner
from helpers import weight_fingerprint
from actjepa_core.policies import BCConfig, train_bc

STORED = Path(__file__).resolve().parent / "fixtures" / "weight_fingerprints.json"


def smoke_spec(method: str) -> RunSpec:
    """A few steps of ``method`` on 4 Reach demonstrations."""
    chunked = {"policy": {"steps": 6, "batch_size": 8}} if method in (
        "act", "diffusion_policy", "actjepa_paper", "actjepa_mlp_target") else {}
    return RunSpec("reach", method=method, protocol="policy" if chunked else "bc", seed=3,
                   n_demos=4, pretrain_steps=6, bc_steps=6, **chunked)


def trained(method: str, cache: Path) -> torch.nn.Module:
    """The model a smoke run of ``method`` trains (raw: its BC head on the raw observation)."""
    runner = Runner(cache, progress=False)
    spec = smoke_spec(method)
    d = runner.training_demos(spec)
    if method != "raw":
        return runner.pretrained(spec, d)
    o, a, _ = d.transitions()
    from actjepa_core.envs import get_task
    policy, _ = train_bc(None, o, a, d.stats, get_task("reach").layout,
                         BCConfig(steps=6, seed=3, batch_size=8))
    return policy.head


def compute_all(cache: Path) -> dict[str, dict[str, list[float]]]:
    torch.manual_seed(0)
    return {m: weight_fingerprint(trained(m, cache), without_key_bias=True) for m in METHODS}


@pytest.fixture(scope="module")
def fingerprints(tmp_path_factory) -> dict[str, dict[str, list[float]]]:
    return compute_all(tmp_path_factory.mktemp("fingerprint-cache"))


@pytest.mark.parametrize("method", METHODS)
def test_a_smoke_training_gives_the_stored_weights(method, fingerprints):
    stored = json.loads(STORED.read_text())
    assert method in stored, f"no stored fingerprint of {method!r}: run this file with --write"
    got, want = fingerprints[method], stored[method]
    assert got.keys() == want.keys(), f"{method}: the parameters changed names or number"
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-3, atol=1e-6,
                                   err_msg=f"{method}: {name}")


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        raise SystemExit(f"usage: python {Path(__file__).name} --write")
    with tempfile.TemporaryDirectory() as tmp:
        STORED.parent.mkdir(exist_ok=True)
        STORED.write_text(json.dumps(compute_all(Path(tmp)), indent=1) + "\n")
    print(f"wrote {STORED}")
