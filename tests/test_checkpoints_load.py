"""Guard for the refactor of issue 25: checkpoints written by today's code keep loading from a
run cache. One tiny checkpoint per method (``fixtures/checkpoints``, written by this file's
``--write``) is put in a fresh cache under its run's key; the runner must read it back as
it is (no retraining: it gets no demonstrations to train on) with the weights it was saved
with. A change to the save format or to a model's parameter names fails here, and would
otherwise turn every cached model of a long sweep into a silent retraining.

The tiny autoencoder and contrastive runs once set predictor sizes they never read; since
each method has its own config they cannot, so those two tiny runs have new keys (written
into their ``.json``; their ``.pt`` files are the ones stored before). The full profile's
keys did not move: ``test_committed_keys`` checks them against the committed results.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from actjepa_core.experiments import METHODS, RunSpec, Runner
from helpers import own_sizes, weight_fingerprint

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "checkpoints"
TINY = {
    "jepa": {"repr_dim": 8, "enc_hidden": (16,), "act_hidden": 8, "pred_hidden": 4},
    "act": {"d_model": 16, "n_heads": 2, "dim_feedforward": 32, "encoder_hidden": (16,),
            "latent_dim": 4},
    "diffusion_policy": {"down_dims": (8, 16), "step_embed_dim": 8, "n_groups": 4},
    "actjepa_paper": {"d_model": 16, "n_heads": 2, "dim_feedforward": 32,
                      "encoder_hidden": (16,), "predictor_dim": 8, "predictor_ff": 16,
                      "predictor_heads": 2},
    "actjepa_mlp_target": {"d_model": 16, "n_heads": 2, "dim_feedforward": 32,
                           "encoder_hidden": (16,), "predictor_ff": 16},
}
"""Small sizes, so the committed files stay a few kilobytes each."""
TRAINED = [m for m in METHODS if m != "raw"]


def tiny_spec(method: str) -> RunSpec:
    """Three steps of a tiny ``method`` on 4 Reach demonstrations."""
    if method in TINY and method != "jepa":
        return RunSpec("reach", method=method, protocol="policy", seed=0, n_demos=4,
                       policy={"steps": 3, "batch_size": 8, **TINY[method]})
    return RunSpec("reach", method=method, seed=0, n_demos=4, pretrain_steps=3,
                   jepa=own_sizes(method, TINY["jepa"]))


@pytest.mark.parametrize("method", TRAINED)
def test_a_stored_checkpoint_loads_from_a_cache_without_retraining(method, tmp_path):
    spec = tiny_spec(method)
    stored = FIXTURES / f"{method}.pt"
    assert stored.exists(), f"no stored checkpoint of {method!r}: run this file with --write"
    meta = json.loads((FIXTURES / f"{method}.json").read_text())
    assert meta["key"] == spec.pretrain_key(), (
        f"{method}: the tiny run's key changed; a changed key orphans every cached model")
    runner = Runner(tmp_path, progress=False)
    path = tmp_path / "models" / f"{spec.pretrain_key()}.pt"
    shutil.copy(stored, path)
    model = runner.pretrained(spec, None)  # None: a retraining would fail, not pass
    assert path.exists()  # read, not moved aside as unloadable
    got = weight_fingerprint(model)
    assert got.keys() == meta["weights"].keys(), f"{method}: the parameters changed names"
    for name, values in meta["weights"].items():
        np.testing.assert_allclose(got[name], values, rtol=1e-12, err_msg=f"{method}: {name}")

if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        raise SystemExit(f"usage: python {Path(__file__).name} --write")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Runner(Path(tmp), progress=False)
        for m in TRAINED:
            spec = tiny_spec(m)
            runner.pretrained(spec, runner.training_demos(spec))
            model = runner.pretrained(spec, None)
            shutil.copy(Path(tmp) / "models" / f"{spec.pretrain_key()}.pt", FIXTURES / f"{m}.pt")
            meta = {"key": spec.pretrain_key(), "weights": weight_fingerprint(model)}
            (FIXTURES / f"{m}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(TRAINED)} checkpoints to {FIXTURES}")
