"""Config dataclasses, --set parsing, presets and their errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gymkit.config import AgentConfig, list_presets, load_preset, param, parse_set
from gymkit.errors import ConfigError


@dataclass(frozen=True)
class DemoConfig(AgentConfig):
    discount_rate: float = param(0.95, "discount", low=0.0, high=1.0)
    learning_rate: float = param(0.01, "step size", low=0.0, low_open=True)
    batch_size: int = param(32, "batch", low=1)
    hidden_sizes: tuple[int, ...] = param((4,), "units per layer", low=1)
    optimizer: str = param("adam", "optimizer", choices=("adam", "rmsprop", "sgd"))
    dueling: bool = param(False, "dueling head")
    clip: float | None = param(None, "gradient clip norm", low=0.0, low_open=True)

    def check(self) -> None:
        if self.batch_size > 1000:
            raise ConfigError(f"batch_size={self.batch_size} exceeds 1000")


def test_defaults_and_to_dict_round_trip():
    cfg = DemoConfig()
    assert cfg.to_dict()["hidden_sizes"] == [4]
    assert DemoConfig.from_dict(cfg.to_dict()) == cfg


def test_values_from_strings_are_coerced():
    cfg = DemoConfig.from_dict(parse_set(["discount_rate=0.9", "batch_size=64", "hidden_sizes=[8, 8]",
                                          "dueling=true", "clip=10", "optimizer=sgd"]))
    assert cfg.discount_rate == 0.9 and cfg.batch_size == 64 and cfg.hidden_sizes == (8, 8)
    assert cfg.dueling is True and cfg.clip == 10.0 and cfg.optimizer == "sgd"


def test_misspelt_key_names_the_closest():
    with pytest.raises(ConfigError, match="unknown config key 'discount_rat'.*did you mean 'discount_rate'"):
        DemoConfig.from_dict({"discount_rat": 0.9})


@pytest.mark.parametrize("values, fragment", [
    ({"discount_rate": 1.5}, r"discount_rate=1.5 is out of range: allowed range is \[0.0, 1.0\]"),
    ({"learning_rate": 0.0}, r"learning_rate=0.0 is out of range: allowed range is \(0.0, inf\]"),
    ({"batch_size": 0}, r"batch_size=0 is out of range"),
    ({"hidden_sizes": [4, 0]}, r"hidden_sizes=0 is out of range"),
    ({"batch_size": 2.5}, r"not an integer"),
    ({"optimizer": "adamw"}, r"not allowed \(did you mean 'adam'\?\): choose one of adam, rmsprop, sgd"),
    ({"dueling": "maybe"}, r"not a boolean"),
    ({"batch_size": 2000}, r"exceeds 1000"),
    ({"discount_rate": float("nan")}, r"out of range"),
])
def test_bad_values_name_key_value_and_range(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        DemoConfig.from_dict(values)


def test_configs_are_frozen():
    cfg = DemoConfig()
    with pytest.raises(AttributeError):
        cfg.batch_size = 3  # type: ignore[misc]


def test_parse_set_rejects_items_without_equals():
    with pytest.raises(ConfigError, match="not key=value"):
        parse_set(["discount_rate"])


def test_shipped_presets_load_and_name_registered_agents():
    from gymkit.registry import agent_specs

    presets = list_presets()
    assert presets, "gymkit ships presets"
    for name, preset in presets.items():
        assert preset.agent in agent_specs(), f"preset {name} names unknown agent {preset.agent}"


def test_unknown_preset_suggests(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'nope-nope'"):
        load_preset("nope-nope")


def test_malformed_preset_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agent: random\nconfig: {a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"malformed YAML in .*bad.yaml at line \d+"):
        load_preset(str(bad))


def test_preset_unknown_key(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("agent: random\nconfg: {}\n")
    with pytest.raises(ConfigError, match="did you mean 'config'"):
        load_preset(str(bad))
