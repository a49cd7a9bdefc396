"""Property-based tests (hypothesis) of the config parser and the wrapper specs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from gymkit.config import AgentConfig, param, parse_set
from gymkit.errors import ConfigError
from gymkit.wrappers import normalize_wrapper_specs


@dataclass(frozen=True)
class PropConfig(AgentConfig):
    discount_rate: float = param(0.95, "discount", low=0.0, high=1.0)
    learning_rate: float = param(0.01, "step size", low=0.0, low_open=True)
    batch_size: int = param(32, "batch", low=1, high=4096)
    hidden_sizes: tuple[int, ...] = param((4,), "units", low=1)
    optimizer: str = param("adam", "optimizer", choices=("adam", "rmsprop"))
    dueling: bool = param(False, "dueling")


KEYS = ["discount_rate", "learning_rate", "batch_size", "hidden_sizes", "optimizer", "dueling"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
values = st.one_of(scalars, st.lists(scalars, max_size=4))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=4))
def test_from_dict_accepts_only_in_range_values_or_raises_config_error(data):
    try:
        cfg = PropConfig.from_dict(data)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert 0.0 <= cfg.discount_rate <= 1.0
    assert cfg.learning_rate > 0 and math.isfinite(cfg.discount_rate)
    assert isinstance(cfg.batch_size, int) and 1 <= cfg.batch_size <= 4096
    assert all(isinstance(h, int) and h >= 1 for h in cfg.hidden_sizes)
    assert cfg.optimizer in ("adam", "rmsprop") and isinstance(cfg.dueling, bool)
    assert PropConfig.from_dict(cfg.to_dict()) == cfg  # round trip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=5))
def test_parse_set_returns_a_mapping_or_a_config_error(items):
    try:
        out = parse_set(items)
    except ConfigError:
        assert any("=" not in i or not i.partition("=")[0].strip() for i in items)
        return
    assert set(out) == {i.partition("=")[0].strip() for i in items}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4096), st.floats(0.0, 1.0), st.lists(st.integers(1, 512), max_size=3))
def test_set_strings_parse_to_the_same_config_as_typed_values(batch, discount, hidden):
    items = [f"batch_size={batch}", f"discount_rate={discount!r}", f"hidden_sizes={hidden}"]
    assert PropConfig.from_dict(parse_set(items)) == PropConfig(
        batch_size=batch, discount_rate=discount, hidden_sizes=tuple(hidden))


wrapper_specs = st.lists(st.one_of(
    st.text(min_size=1, max_size=10),
    st.dictionaries(st.text(min_size=1, max_size=10),
                    st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers()), st.integers()),
                    min_size=1, max_size=2),
    st.integers(),
), max_size=4)


@settings(max_examples=300, deadline=None)
@given(wrapper_specs)
def test_wrapper_specs_normalise_or_raise_config_error(specs):
    try:
        out = normalize_wrapper_specs(specs)
    except ConfigError:
        return
    assert len(out) == len(specs)
    assert all(isinstance(name, str) and isinstance(kw, dict) for name, kw in out)
