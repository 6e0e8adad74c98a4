"""Adding a method is one module, one config and one registry line (``methods/README.md``):
a toy representation method, registered here the way a new module would be, trains, saves,
reloads and is evaluated under the BC head by the runner in the smoke profile, with no other
change to the package."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from actjepa_core.config import RepresentationConfig
from actjepa_core.experiments import RunSpec, Runner
from actjepa_core.methods import registry
from actjepa_core.models import RepresentationModel
from actjepa_core.profiles import get_profile


@dataclass(kw_only=True)
class ToyConfig(RepresentationConfig):
    """The encoder's fields and one of its own."""

    name: ClassVar[str] = "toy"

    shrink: float = 0.5
    """Weight of the penalty on the representation's size."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.shrink > 0:
            raise ValueError(f"shrink must be positive, got {self.shrink}")


class ToyModel(RepresentationModel):
    """Predicts the next observation linearly from ``f(o_t)``, with a penalty on ``f``'s size."""

    def __init__(self, cfg: ToyConfig):
        super().__init__(cfg)
        self.head = torch.nn.Linear(cfg.repr_dim, cfg.obs_dim)

    def forward(self, obs, actions=None, next_obs=None, check=True):
        if check:
            self.check_inputs(obs, actions, next_obs)
        s = self.encoder(obs)
        loss = ((self.head(s) - next_obs) ** 2).mean() + self.cfg.shrink * (s ** 2).mean()
        return loss, {"loss": loss.detach()}


@pytest.fixture
def toy(monkeypatch):
    """The module ``methods/toy.py`` would be, and its registry line."""
    module = types.ModuleType("actjepa_core.methods.toy")
    module.ToyConfig, module.ToyModel = ToyConfig, ToyModel
    monkeypatch.setitem(sys.modules, "actjepa_core.methods.toy", module)
    monkeypatch.setitem(registry.METHODS, "toy", registry.Method(
        "toy", "ToyConfig", "ToyModel", "toy", "this test", kind="representation"))


def test_a_registered_toy_method_runs_through_the_book_in_the_smoke_profile(toy, tmp_path):
    P = get_profile("smoke")
    spec = RunSpec("reach", method="toy", seed=0, n_demos=P.n_demos,
                   pretrain_steps=P.pretrain_steps, bc_steps=P.bc_steps,
                   eval_episodes=P.eval_episodes, jepa={"shrink": 0.1},
                   label=registry.row_label("toy"))
    rows = Runner(tmp_path, progress=False).run([spec])
    assert len(rows) == P.eval_episodes and set(rows.success) <= {0, 1}
    assert set(rows.label) == {"toy + BC"}
    model, history = registry.load(tmp_path / "models" / f"{spec.pretrain_key()}.pt")
    assert isinstance(model, ToyModel) and model.cfg == spec.method_config()
    assert len(history) == P.pretrain_steps and {"online_std", "online_erank"} <= set(history)


def test_the_toy_config_refuses_what_it_does_not_have(toy):
    with pytest.raises(ValueError, match=r"ToyConfig has no field\(s\) \['ema'\]"):
        registry.make_config("toy", "reach", ema=False)
    with pytest.raises(ValueError, match="shrink must be positive"):
        registry.make_config("toy", "reach", shrink=0.0)
