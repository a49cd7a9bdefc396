"""gymkit/EmbeddedReber-v0: grammar, env checker, and that the task needs memory."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gymkit  # noqa: F401  (registers the env)
from gymkit.envs.reber import (
    ANSWERS,
    SYMBOLS,
    EmbeddedReberEnv,
    generate_embedded_reber,
    generate_reber,
    is_embedded_reber,
    is_reber,
)


def test_passes_gymnasium_env_checker():
    check_env(gym.make("gymkit/EmbeddedReber-v0").unwrapped, skip_render_check=True)


def test_generated_strings_follow_the_grammar():
    rng = np.random.default_rng(0)
    reber = [generate_reber(rng) for _ in range(500)]
    assert all(is_reber(s) for s in reber)
    assert {"BTXSE", "BPVVE"} <= set(reber)  # the two shortest strings appear
    embedded = [generate_embedded_reber(rng, max_length=20) for _ in range(500)]
    assert all(is_embedded_reber(s) and len(s) <= 20 for s in embedded)
    assert 0.4 < np.mean([s[1] == "T" for s in embedded]) < 0.6


@pytest.mark.parametrize("bad", ["BTXSX", "BTSSXXTVVEE", "TXSE", "BPVPSE", "BTBTXSEPE", "BTBTXSTE"])
def test_grammar_rejects_bad_strings(bad):
    assert not is_embedded_reber(bad)


def test_an_episode_shows_the_string_without_its_last_two_symbols():
    env = gym.make("gymkit/EmbeddedReber-v0")
    obs, info = env.reset(seed=3)
    string, shown = info["string"], []
    while True:
        shown.append(SYMBOLS[int(obs.argmax())])
        assert obs.sum() == 1.0
        answer = ANSWERS.index(string[-2])
        obs, reward, terminated, truncated, info = env.step(answer if info["answer_step"] else 1 - answer)
        if terminated:
            break
        assert reward == 0.0
    assert "".join(shown) == string[:-2] and shown[-1] == "E" and reward == 1.0 and info["correct"]


def _accuracy(policy, episodes=2000, seed=0, **kwargs):
    """Fraction of right answers; ``policy(symbol, memory) -> (action, memory)``."""
    env = EmbeddedReberEnv(**kwargs)
    right = 0
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        memory, done = None, False
        while not done:
            action, memory = policy(SYMBOLS[int(obs.argmax())], memory)
            obs, reward, done, _, _ = env.step(action)
        right += reward == 1.0
    return right / episodes


def test_memoryless_policies_are_stuck_near_chance_and_memory_solves_it():
    # every memoryless policy answers a fixed action on the final 'E': try both, and a random one
    rng = np.random.default_rng(0)
    for answer in (0, 1):
        acc = _accuracy(lambda s, m, a=answer: (a, None))
        assert 0.46 < acc < 0.54, acc  # 2,000 episodes: 0.5 +- 2 standard errors (0.011) and more
    assert 0.46 < _accuracy(lambda s, m: (int(rng.integers(2)), None)) < 0.54

    def oracle(symbol, memory):  # remembers the second symbol
        memory = (memory or "") + symbol
        return (ANSWERS.index(memory[1]) if len(memory) > 1 else 0), memory

    assert _accuracy(oracle, episodes=500) == 1.0


def test_wrong_reward_and_seeding():
    env = EmbeddedReberEnv(wrong_reward=-1.0)
    a = [env.reset(seed=s)[1]["string"] for s in range(20)]
    b = [env.reset(seed=s)[1]["string"] for s in range(20)]
    assert a == b and len(set(a)) > 10
    obs, info = env.reset(seed=0)
    while not info["answer_step"]:
        obs, _, _, _, info = env.step(0)
    wrong = 1 - ANSWERS.index(info["string"][-2])
    assert env.step(wrong)[1] == -1.0
    with pytest.raises(ValueError):
        EmbeddedReberEnv(max_length=8)
