"""spaces.json: Gymnasium spaces as plain JSON, read strictly; undescribable spaces refused at start."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from gymkit import cli
from gymkit.errors import RunDirError, SpaceError
from gymkit.spaces_json import read_spaces, space_from_json, space_to_json, write_spaces

S = gym.spaces

SPACES = [
    S.Box(-1.0, 1.0, (3,), np.float32),
    S.Box(np.array([-np.inf, 0.0]), np.array([np.inf, 4.8]), (2,), np.float64),
    S.Box(0, 255, (4, 5, 3), np.uint8),
    S.Box(np.zeros((2, 2), np.int64), np.array([[1, 2], [3, 2**40]]), (2, 2), np.int64),
    S.Discrete(6),
    S.Discrete(3, start=-1),
    S.MultiDiscrete([3, 4, 2]),
    S.MultiDiscrete(np.array([[2, 3], [4, 5]]), start=np.array([[0, 1], [-2, 0]])),
    S.MultiBinary(5),
    S.MultiBinary([2, 3]),
    S.Tuple([S.Discrete(2), S.Box(-1, 1, (2,))]),
    S.Dict({"position": S.Box(-5, 5, (2,)), "goal": S.Discrete(4), "nested": S.Tuple([S.MultiBinary(2)])}),
]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: type(s).__name__)
def test_round_trip(space, tmp_path):
    data = json.loads(json.dumps(space_to_json(space)))  # plain JSON: no NaN/Infinity tokens either
    assert "Infinity" not in json.dumps(data)
    back = space_from_json(data)
    assert back == space and type(back) is type(space)
    write_spaces(tmp_path / "spaces.json", space, S.Discrete(2))
    assert read_spaces(tmp_path / "spaces.json") == (space, S.Discrete(2))


def test_uniform_bounds_are_stored_once():
    data = space_to_json(S.Box(0, 255, (210, 160, 3), np.uint8))
    assert data["low"] == 0 and data["high"] == 255


@pytest.mark.parametrize("space", [S.Text(5), S.Sequence(S.Discrete(2)), S.Graph(S.Box(0, 1, (2,)), None)],
                         ids=lambda s: type(s).__name__)
def test_undescribable_spaces_are_refused(space):
    with pytest.raises(SpaceError, match=f"cannot be saved as JSON .*{type(space).__name__}"):
        space_to_json(space)


@pytest.mark.parametrize("data, fragment", [
    ({"type": "Pickle"}, "unknown space type 'Pickle'"),
    ({"type": "Box", "shape": [10**6, 10**6], "dtype": "float32", "low": 0, "high": 1}, "more than"),
    ({"type": "Box", "shape": [2], "dtype": "object", "low": 0, "high": 1}, "dtype 'object'"),
    ({"type": "Box", "shape": [2], "dtype": "float32", "low": [0, 1, 2], "high": 1}, "has shape (3,)"),
    ({"type": "Box", "shape": [2], "dtype": "float32", "low": 0, "high": 1, "code": "x"}, "unknown keys code"),
    ({"type": "Discrete", "n": -3}, "must be >= 1"),
    ({"type": "Discrete", "n": True}, "whole number"),
    ({"type": "Dict", "spaces": {"a": 1}}, "list of [name, space] pairs"),
    ("Box", "expected a space object"),
])
def test_malformed_descriptions_are_refused(data, fragment):
    with pytest.raises(RunDirError, match="does not describe a space") as err:
        space_from_json(data)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_deep_nesting_is_refused():
    data = {"type": "Discrete", "n": 2}
    for _ in range(40):
        data = {"type": "Tuple", "spaces": [data]}
    with pytest.raises(RunDirError, match="nested more than 32 deep"):
        space_from_json(data)


class _TextEnv(gym.Env):
    observation_space = S.Text(8)
    action_space = S.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "hello", {}

    def step(self, action):
        return "hello", 0.0, True, False, {}


gym.register("gymkit-test/Text-v0", entry_point=_TextEnv)


def test_an_undescribable_space_is_refused_when_the_run_starts(tmp_path, capsys):
    run = tmp_path / "run"
    rc = cli.main(["train", "--agent", "random", "--env", "gymkit-test/Text-v0", "--steps", "10",
                   "--run-dir", str(run), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "the observation space of gymkit-test/Text-v0: the space Text(" in err and "wrap the env" in err
    assert not run.exists()  # refused before anything was written, not at the first checkpoint
