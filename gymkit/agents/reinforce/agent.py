"""The REINFORCE agent (policy gradients, Williams 1992) as the book runs it on CartPole.

Each update: let the policy play ``episodes_per_update`` whole episodes, score every
action by its discounted return (minus a learnt ``V(s)`` or the batch mean, divided by
the batch std), and take one gradient step along the mean of the score-weighted
gradients of ``log pi(a|s)`` (see :mod:`gymkit.agents.reinforce.learner`).

Truncation: the returns are Monte-Carlo. When an episode is cut by a time limit and a
value baseline is learnt (``bootstrap_truncated``), its returns get ``r^k V(s_T)`` added
for the state it was cut in; without a value network they are used as is (the book's
choice: CartPole's 1,000-step cap simply ends the sum).

Vector envs: episodes are gathered per sub-env (``Transitions.env_ids``) and finish in
any order; an update uses every episode completed so far once there are at least
``episodes_per_update``. With several envs, the episodes still running at an update
continue under the new policy (a small, usual off-policy bias); with one env there is none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.agents.base import (
    Agent,
    Transitions,
    require_box_observations,
    require_discrete_actions,
)
from gymkit.agents.nn.carried import CarriedStates
from gymkit.agents.reinforce.config import ReinforceConfig
from gymkit.agents.reinforce.episodes import _Episode, _pack_episodes, _unpack_episodes
from gymkit.agents.reinforce.returns import padded_discounted_returns

STATE_FILE = "reinforce_state.json"
OPTIMIZER_FILE = "optimizer.npz"
EPISODES_FILE = "episodes.npz"


class ReinforceAgent(Agent):
    """REINFORCE: a Keras softmax policy on an encoder, learnt by Monte-Carlo policy gradients.

    Acting never calls Keras eagerly: dense-only networks run as a NumPy forward pass of
    the Keras weights, gymkit's recurrent encoders as a NumPy step
    (:mod:`gymkit.encoders.numpy_step`), others through a ``tf.function`` with a fixed input
    signature (``act_backend`` picks); the
    action is sampled in NumPy from ``self.rng`` so runs are reproducible.

    Evaluation (``explore=False``) is greedy (argmax) by default: it measures the best
    behaviour of the learnt policy with less noise, and on CartPole the greedy policy of a
    trained agent scores at least as high as sampling (see ``bench/results/reinforce.md``);
    set ``eval_mode: sample`` to evaluate the stochastic policy that training optimises.
    Sampled evaluation draws from its own generator, so evaluating mid-training does not
    change the training run.

    Action masks are honoured when acting (forbidden actions get probability 0) and in the
    update: ``log pi(a|s)`` is taken over the allowed actions of each step
    (``Transitions.action_masks``), the distribution the action was drawn from.
    """

    config_cls = ReinforceConfig

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: ReinforceConfig,
        *,
        seed: int,
    ) -> None:
        super().__init__(observation_space, action_space, config, seed=seed)
        self.check_spaces(observation_space, action_space)
        from gymkit.tf_import import tensorflow

        tensorflow()  # quietly, before anything else imports it
        from gymkit.agents.reinforce.learner import ReinforceLearner

        self.n_actions = int(action_space.n)
        self._action_start = int(action_space.start)
        self.learner = ReinforceLearner(observation_space, self.n_actions, config, self.seed)
        self.eval_rng = np.random.default_rng([self.seed, 1])
        self._open: dict[int, _Episode] = {}
        self._complete: list[_Episode] = []
        self.updates = 0
        self.episodes = 0
        self.steps = 0
        #: a recurrent policy carries a hidden state per env through each episode
        self.stateful = self.learner.recurrent
        # one state per stream: training (explore=True) and evaluation (explore=False)
        self._carried = CarriedStates([[int(t.shape[1]) for t in layer] for layer in self.learner.initial_state(1)]
                                      ) if self.stateful else None

    @classmethod
    def check_spaces(cls, observation_space: gym.Space, action_space: gym.Space) -> None:
        require_discrete_actions("reinforce", action_space)
        require_box_observations("reinforce", observation_space)

    # -- acting --------------------------------------------------------------------------

    def episode_start(self, env_ids: np.ndarray, *, explore: bool) -> None:
        """Zero the recurrent state of these envs (nothing to do for a feed-forward policy)."""
        if self._carried is not None:
            self._carried.reset(env_ids, explore)

    def _logits(self, observations: np.ndarray, explore: bool, env_ids: np.ndarray | None) -> np.ndarray:
        observations = np.asarray(observations)
        if self._carried is None:
            return self.learner.logits(observations)
        ids = np.arange(len(observations)) if env_ids is None else np.asarray(env_ids, np.int64)
        return self._carried.advance(explore, ids, lambda rows: self.learner.logits_step(observations, rows))

    def policy_probabilities(self, observations: np.ndarray, action_mask: np.ndarray | None = None,
                             *, explore: bool = False, env_ids: np.ndarray | None = None) -> np.ndarray:
        """pi(a|s) for each row: the softmax of the logits over the allowed actions.

        With a recurrent policy this advances the carried state of ``env_ids`` (of the
        ``explore`` stream) by one step: call it once per env step.
        """
        logits = self._logits(observations, explore, env_ids).astype(np.float64)
        if action_mask is not None:
            logits = np.where(np.asarray(action_mask, bool), logits, -np.inf)
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def act(self, observations, *, explore, action_mask=None, env_ids=None):
        probs = self.policy_probabilities(observations, action_mask, explore=explore, env_ids=env_ids)
        if explore or self.config.eval_mode == "sample":
            rng = self.rng if explore else self.eval_rng
            # Inverse-CDF sampling: the first action whose cumulative probability exceeds u.
            u = rng.random((len(probs), 1))
            actions = (u >= probs.cumsum(axis=1)).sum(axis=1)
            actions = np.minimum(actions, self.n_actions - 1)  # u beyond a rounded total
            if action_mask is not None:  # rounding must never pick a forbidden action
                bad = ~np.asarray(action_mask, bool)[np.arange(len(actions)), actions]
                actions[bad] = probs[bad].argmax(axis=1)
        else:
            actions = probs.argmax(axis=1)
        return actions.astype(np.int64) + self._action_start

    # -- learning ------------------------------------------------------------------------

    def observe(self, batch: Transitions) -> None:
        masks = None if batch.action_masks is None else np.asarray(batch.action_masks, bool)
        for i, env_id in enumerate(np.asarray(batch.env_ids).tolist()):
            episode = self._open.setdefault(env_id, _Episode())
            episode.observations.append(np.array(batch.observations[i]))
            episode.actions.append(int(batch.actions[i]) - self._action_start)
            episode.rewards.append(float(batch.rewards[i]))
            episode.masks.append(None if masks is None else masks[i].copy())
            terminated, truncated = bool(batch.terminated[i]), bool(batch.truncated[i])
            if terminated or truncated:
                episode.truncated = truncated and not terminated
                episode.final_observation = np.array(batch.next_observations[i])
                self._complete.append(self._open.pop(env_id))
                self.episodes += 1
        self.steps += len(batch.env_ids)

    def update(self) -> dict[str, float]:
        """One policy-gradient step once ``episodes_per_update`` episodes are complete."""
        if len(self._complete) < self.config.episodes_per_update:
            return {}
        episodes, self._complete = self._complete, []
        observations, actions, rewards, lengths, allowed = self._pad(episodes)
        bootstrap = None
        truncated = np.array([e.truncated for e in episodes])
        if self.learner.value is not None and self.config.bootstrap_truncated and truncated.any():
            bootstrap = np.zeros(len(episodes))
            if self.learner.recurrent:  # V after the whole episode and its final observation
                cut = [e for e in episodes if e.truncated]
                seqs = [np.stack([*e.observations, e.final_observation]) for e in cut]
                from gymkit.encoders.sequences import ragged_to_padded

                padded, seq_mask = ragged_to_padded(seqs)
                bootstrap[truncated] = self.learner.values(padded, seq_mask)
            else:
                finals = np.stack([e.final_observation for e in episodes if e.truncated])
                bootstrap[truncated] = self.learner.values(finals)
        returns = padded_discounted_returns(rewards, lengths, self.config.discount_rate, bootstrap)
        mask = np.arange(returns.shape[1]) < lengths[:, None]
        if self.learner.value is not None:
            self.learner.track_returns(returns[mask])
        metrics = self.learner.train_step(
            observations, actions, returns.astype(np.float32), mask.astype(np.float32),
            self.learner.value_units(), allowed,
        )
        self.learner.refresh()
        self.updates += 1
        out = {k: float(v) for k, v in metrics.items()}
        if self.learner.value is None:
            out.pop("value_loss")
        out.update(
            batch_return_mean=float(rewards.sum(axis=1).mean()),
            batch_length_mean=float(lengths.mean()),
            batch_episodes=float(len(episodes)),
            updates=float(self.updates),
        )
        return out

    def _pad(self, episodes: list[_Episode]) -> tuple[np.ndarray, ...]:
        """Stack episodes into ``(B, T, ...)`` arrays, zero-padded to the longest, and the
        allowed actions ``(B, T, n_actions)`` (1.0 where allowed or where no mask was given)."""
        lengths = np.array([len(e.rewards) for e in episodes])
        batch, horizon = len(episodes), int(lengths.max())
        shape, dtype = self.observation_space.shape, self.observation_space.dtype
        observations = np.zeros((batch, horizon, *shape), dtype=dtype)
        actions = np.zeros((batch, horizon), dtype=np.int32)
        rewards = np.zeros((batch, horizon), dtype=np.float64)
        allowed = np.ones((batch, horizon, self.n_actions), dtype=np.float32)
        for b, episode in enumerate(episodes):
            n = lengths[b]
            observations[b, :n] = np.stack(episode.observations)
            actions[b, :n] = episode.actions
            rewards[b, :n] = episode.rewards
            if any(m is not None for m in episode.masks):  # no per-step work for unmasked envs
                all_allowed = np.ones(self.n_actions, bool)
                allowed[b, :n] = np.stack([all_allowed if m is None else m for m in episode.masks])
        return observations, actions, rewards, lengths, allowed

    def summary(self) -> str | None:
        sizes = " -> ".join(str(s) for s in self.config.hidden_sizes) or "(none)"
        baseline = "value baseline" if self.learner.value is not None else "no baseline"
        return (
            f"REINFORCE policy: {self.config.encoder} encoder [{sizes}, {self.config.activation}] "
            f"-> softmax over {self.n_actions} actions; {baseline}; "
            f"{self.updates} updates from {self.episodes} episodes ({self.steps} steps)"
        )

    # -- saving --------------------------------------------------------------------------

    def save_state(self, directory: Path) -> None:
        directory = Path(directory)
        from gymkit.safe_files import save_npz

        for name, model in self.learner.weights_files().items():
            model.save_weights(directory / name)
        save_npz(directory / OPTIMIZER_FILE, self.learner.optimizer_variables())
        # Episodes not learnt from yet (complete ones wait for the batch to fill; open ones
        # are cut by the checkpoint), so a resumed run learns from the same batches.
        save_npz(directory / EPISODES_FILE, _pack_episodes(self._complete, self._open))
        state: dict[str, Any] = {
            "updates": self.updates,
            "episodes": self.episodes,
            "steps": self.steps,
            "rng": self.rng.bit_generator.state,
            "eval_rng": self.eval_rng.bit_generator.state,
            "return_moments": self.learner.return_moments,
        }
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    def load_state(self, directory: Path) -> None:
        from gymkit.safe_files import load_keras_weights, load_npz, read_json

        directory = Path(directory)
        for name, model in self.learner.weights_files().items():
            load_keras_weights(model, directory / name)
        self.learner.set_optimizer_variables(load_npz(directory / OPTIMIZER_FILE, finite="all"))
        state = read_json(directory / STATE_FILE)
        self.updates, self.episodes, self.steps = state["updates"], state["episodes"], state["steps"]
        self.rng.bit_generator.state = state["rng"]
        self.eval_rng.bit_generator.state = state["eval_rng"]
        self.learner.return_moments = state["return_moments"]
        self._complete, self._open = _unpack_episodes(load_npz(directory / EPISODES_FILE))
        self.learner.refresh()
