"""DQNAgent: Deep Q-Learning with a critic that learns and an actor copied from it.

The agent owns its schedule (Dopamine's idea): :meth:`observe` counts env steps and writes
replay; :meth:`update` trains every ``training_interval`` env steps once ``training_start``
steps have passed, running all the gradient steps that are due in one graph call, and the
graph copies the critic to the actor every ``copy_steps`` training steps.

With a recurrent encoder (``encoder: lstm``, ``gru``, ``simple-rnn``) the agent is stateful:
it carries each env's hidden state through the episode while acting (reset by
:meth:`DQNAgent.episode_start`) and learns from sampled windows of consecutive steps, with an
optional burn-in (:mod:`gymkit.agents.dqn.recurrent`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymkit.agents.base import (
    Agent,
    Transitions,
    masked_argmax,
    require_box_observations,
    require_discrete_actions,
)
from gymkit.agents.dqn.config import DQNConfig
from gymkit.agents.dqn.saving import (
    OPTIMIZER_FILE,
    load_weights_and_counters,
    save_optimizer_variables,
    save_weights_and_counters,
)
from gymkit.agents.dqn.schedule import first_training_step, linear_epsilon, rounds_due
from gymkit.replay import ReplayMemory


class DQNAgent(Agent):
    """Deep Q-Learning with an actor/critic (online/target) pair (TensorFlow)."""

    config_cls = DQNConfig
    config: DQNConfig

    @classmethod
    def check_spaces(cls, observation_space: gym.Space, action_space: gym.Space) -> None:
        require_discrete_actions("dqn", action_space)
        require_box_observations("dqn", observation_space)

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: DQNConfig,
                 *, seed: int) -> None:
        super().__init__(observation_space, action_space, config, seed=seed)
        from gymkit.tf_import import tensorflow

        tensorflow()  # quietly, before anything else imports it
        from gymkit.agents.dqn.learner import Learner
        from gymkit.agents.dqn.networks import q_network

        self.check_spaces(observation_space, action_space)
        self.n_actions = int(action_space.n)
        self.obs_shape = tuple(observation_space.shape)
        self.obs_dtype = np.dtype(np.float32 if observation_space.dtype == np.float64
                                  else observation_space.dtype)
        build = dict(hidden_sizes=config.hidden_sizes, dueling=config.dueling, seed=self.seed,
                     encoder_options=config.encoder_options)
        self.critic = q_network(config.encoder, observation_space, self.n_actions, name="critic", **build)
        self.actor = q_network(config.encoder, observation_space, self.n_actions, name="actor", **build)
        if config.initializer == "torch":
            from gymkit.agents.dqn.networks import torch_style_init

            built_here = config.encoder in ("mlp", "book-cnn", "nature-cnn")  # not pretrained
            torch_style_init(self.critic, self.seed, encoder_too=built_here)
        #: a recurrent Q-network: acting carries a state per env, learning replays sequences
        self.recurrent = bool(getattr(self.critic, "is_recurrent", False))
        self.stateful = self.recurrent
        if self.recurrent:
            from gymkit.agents.dqn.config import check_recurrent
            from gymkit.agents.dqn.recurrent import RecurrentLearner

            check_recurrent(config)  # also for a custom recurrent encoder the config cannot see
            self.learner: Any = RecurrentLearner(self.critic, self.actor, config, self.obs_shape,
                                                 self.obs_dtype)
        else:
            self.learner = Learner(self.critic, self.actor, config, self.obs_shape, self.obs_dtype)
        self.learner.copy_critic_to_actor()
        #: epsilon-greedy evaluation (``eps_eval``) draws from here, not from ``self.rng``
        self.eval_rng = np.random.default_rng([self.seed, 1])
        self.env_steps = 0
        self.train_steps = 0
        self.next_round_at = first_training_step(config.training_start, config.training_interval)
        self.stack_size = config.replay_stack or 1
        self.padding = "reset"
        self.replay: ReplayMemory | None = None
        self._set_up_acting(observation_space, build)

    def _set_up_acting(self, observation_space: gym.Space, build: dict[str, Any]) -> None:
        """The acting path: the carried state (recurrent), or the NumPy forward pass (dense
        nets, gymkit's CNNs) or a ``tf.function`` (``act_backend``); with ``overlap``, a player
        network to act with."""
        from gymkit.agents.dqn.networks import q_network, q_values_function
        from gymkit.agents.nn.numpy_forward import NumpyForward

        config = self.config
        #: the network whose greedy actions the agent plays (the book's actor, or the critic)
        self.playing = self.critic if config.act_with == "critic" else self.actor
        self._numpy_stale = False
        self._carried = None
        self._rounds = None
        #: overlap: a copy of the playing network that acts while a round trains (overlap.py)
        self.player = None
        if self.recurrent:
            from gymkit.agents.dqn.recurrent import CarriedState

            if config.overlap:  # a custom encoder the config could not see was recurrent
                from gymkit.errors import ConfigError

                raise ConfigError("overlap=true is not supported with a recurrent encoder: use overlap=false")
            self._numpy_q = self._tf_q = None
            self._carried = CarriedState(self.playing, self.obs_shape, self.obs_dtype,
                                         use_numpy=config.act_backend != "tf")
            self._require_numpy(self._carried.numpy_step is not None)
            return
        acting = self.playing
        if config.overlap:
            from gymkit.agents.dqn.overlap import BackgroundRounds

            self.player = q_network(config.encoder, observation_space, self.n_actions, name="player", **build)
            self._sync_player()
            self._rounds = BackgroundRounds(self.learner.train)
            acting = self.player
        # None unless a plain dense net or gymkit's CNN layers (checked against Keras's answers)
        self._numpy_q = NumpyForward.from_model(acting) if config.act_backend != "tf" else None
        self._require_numpy(self._numpy_q is not None)
        self._tf_q = None if self._numpy_q else q_values_function(acting, self.obs_shape, self.obs_dtype)

    def _require_numpy(self, found: bool) -> None:
        """``act_backend: numpy`` refuses a network the NumPy path cannot run."""
        if self.config.act_backend == "numpy" and not found:
            from gymkit.errors import ConfigError

            raise ConfigError(f"act_backend='numpy' cannot run encoder {self.config.encoder!r} in NumPy "
                              "(it runs dense networks and gymkit's CNN and recurrent encoders): "
                              "use act_backend=auto or tf")

    # -- acting ---------------------------------------------------------------------------

    def epsilon(self) -> float:
        """The exploration rate now (the book's linear decay)."""
        c = self.config
        step = self.train_steps if c.eps_decay_unit == "training_steps" else self.env_steps
        return linear_epsilon(step, c.eps_max, c.eps_min, c.eps_decay_steps)

    def episode_start(self, env_ids: np.ndarray, *, explore: bool) -> None:
        """Zero the carried recurrent state of these envs in the ``explore`` stream (a
        feed-forward Q-network carries none)."""
        if self._carried is not None:
            self._carried.reset(env_ids, explore)

    def q_values(self, observations: np.ndarray, *, explore: bool = False,
                 env_ids: np.ndarray | None = None) -> np.ndarray:
        """Q-values of the playing network (actor, or critic with ``act_with: critic``).

        A recurrent network reads the observation after the history it carries for rows
        ``env_ids`` of the ``explore`` stream, and advances that state: one call per env step.
        """
        if self._carried is not None:
            if self._numpy_stale:
                self._carried.refresh()
                self._numpy_stale = False
            return self._carried.q_values(observations, explore, env_ids)
        if self._numpy_q is not None:
            if self._numpy_stale:
                self._numpy_q.refresh()
                self._numpy_stale = False
            return self._numpy_q(observations)
        obs = np.asarray(observations, dtype=self.obs_dtype)
        return self._tf_q(obs).numpy()

    def act(self, observations: np.ndarray, *, explore: bool,
            action_mask: np.ndarray | None = None, env_ids: np.ndarray | None = None) -> np.ndarray:
        n = len(observations)
        eps = self.epsilon() if explore else self.config.eps_eval
        if eps <= 0.0:
            return self._greedy(observations, explore, action_mask, env_ids)
        # The coins are drawn before the network runs, so a step whose every row explores
        # skips the forward pass (most of the early steps of an Atari run): the draws, and so
        # the run, are the same as when the network ran and its answer was thrown away.
        # Evaluation draws from a generator of its own, so evaluating mid-training (with
        # eps_eval > 0) leaves the training run's random numbers untouched.
        rng = self.rng if explore else self.eval_rng
        if action_mask is None:  # one generator call per step: [explore?, which action]
            draws = rng.random((2, n))
            explore_rows = draws[0] < eps
            random_actions = (draws[1] * self.n_actions).astype(np.int64)
        else:
            explore_rows = rng.random(n) < eps
            scores = np.where(action_mask, rng.random((n, self.n_actions)), -1.0)
            random_actions = scores.argmax(axis=1)
        if explore_rows.all() and not self.recurrent:  # a recurrent state must follow the episode
            return random_actions
        greedy = self._greedy(observations, explore, action_mask, env_ids)
        return np.where(explore_rows, random_actions, greedy)

    def _greedy(self, observations: np.ndarray, explore: bool, action_mask: np.ndarray | None,
                env_ids: np.ndarray | None) -> np.ndarray:
        """The playing network's best action per row (among the allowed ones)."""
        q = self.q_values(observations, explore=explore, env_ids=env_ids)
        return q.argmax(axis=1) if action_mask is None else masked_argmax(q, action_mask)

    # -- learning -------------------------------------------------------------------------

    def bind_env(self, env: gym.Env) -> None:
        """Detect frame stacking and check the replay's projected size before any step."""
        if self.config.replay_stack == 0:
            from gymkit.envs.factory import detect_frame_stack

            self.stack_size, self.padding = detect_frame_stack(env, self.obs_shape)
        # A one-slot-per-stream probe runs the memory check on the full projected size.
        self._make_replay(num_streams=1, check_only=True)
        # training is about to start: trace the update, and set it up (XLA: compile it) on
        # the other core while the envs are made and the warm-up steps play (on copies of the
        # variables: the weights stay as they are)
        self.learner.compile_step_in_background()

    def _make_replay(self, num_streams: int, check_only: bool = False) -> ReplayMemory | None:
        capacity = self.config.replay_memory_size
        if check_only:
            bytes_per_slot = ReplayMemory.slot_bytes(self.obs_shape, self.obs_dtype, self.stack_size)
            ReplayMemory.check_memory(capacity, bytes_per_slot)
            return None
        # each stream's ring must hold one whole stack plus a transition and its next frame
        # (stack_size + 2 slots), the smallest ring ReplayMemory accepts
        return ReplayMemory(max(capacity, num_streams * (self.stack_size + 2)), self.obs_shape,
                            self.obs_dtype, stack_size=self.stack_size, padding=self.padding,
                            num_streams=num_streams)

    def observe(self, batch: Transitions) -> None:
        n = len(batch.actions)
        if n == 0:
            return
        env_ids = np.asarray(batch.env_ids, dtype=np.int64)
        if self.replay is None:
            self.replay = self._make_replay(max(n, int(env_ids.max()) + 1))
            self.learner.compile_step_in_background()  # if bind_env did not (a no-op once started)
        self.replay.add(batch.observations, batch.actions, batch.rewards, batch.next_observations,
                        batch.terminated, batch.truncated, env_ids)
        self.env_steps += n

    def update(self) -> dict[str, float]:
        c = self.config
        due, next_round_at = rounds_due(self.env_steps, self.next_round_at, c.training_interval)
        if due == 0 or self.replay is None or len(self.replay) == 0:
            return {}
        self.next_round_at = next_round_at
        g, b = due * c.gradient_steps, c.batch_size
        if self._rounds is not None:
            return self._overlapped_round(g, b)
        copies = int(self.learner.copies.numpy())
        if self.recurrent:
            loss, q_mean = self._train_sequences(g, b)
        else:
            loss, q_mean = self.learner.train(*self._transition_batches(g, b))
        # the learner's counter is the one that schedules copies; this is its mirror for epsilon
        self.train_steps = int(self.learner.train_steps.numpy())
        # or-ed in: a step that skipped the network may have left an earlier change unread
        changed = c.act_with == "critic" or int(self.learner.copies.numpy()) != copies
        self._numpy_stale = self._numpy_stale or changed
        return self._round_metrics(float(loss), float(q_mean))

    def _round_metrics(self, loss: float, q_mean: float) -> dict[str, float]:
        return {"loss": loss, "q_mean": q_mean, "epsilon": self.epsilon(), "train_steps": float(self.train_steps)}

    def _overlapped_round(self, g: int, b: int) -> dict[str, float]:
        """Finish the round in flight, let the player catch up, start this round in the
        background; report the finished round (:mod:`gymkit.agents.dqn.overlap`)."""
        last = self.join_training()
        self._sync_player()
        self._rounds.start(*self._transition_batches(g, b))
        return {} if last is None else self._round_metrics(*last)

    def join_training(self) -> tuple[float, float] | None:
        """Wait for the training round in flight (``overlap: true``; else a no-op) and return
        the last finished round's ``(loss, mean Q)``."""
        if self._rounds is None:
            return None
        last = self._rounds.join()
        self.train_steps = int(self.learner.train_steps.numpy())
        return last

    def end_training(self) -> None:
        """The loop has stopped: wait for the round in flight (the player stays one round
        behind, as a resumed run would have it)."""
        self.join_training()

    def _sync_player(self) -> None:
        """Copy the playing network into the player (no round may be in flight)."""
        for mine, theirs in zip(self.player.weights, self.playing.weights, strict=True):
            mine.assign(theirs)
        self._numpy_stale = True

    def _transition_batches(self, g: int, b: int) -> tuple[np.ndarray, ...]:
        """G batches of B sampled transitions, each array with a leading G axis."""
        c = self.config
        sample = self.replay.sample(self.rng, g * b, c.discount_rate, c.n_step,
                                    channels_last=self.learner.channels_last)
        shape = self.learner.observation_shape  # channels last when the learner takes them so
        return (sample.observations.reshape(g, b, *shape), sample.actions.reshape(g, b),
                sample.rewards.reshape(g, b), sample.next_observations.reshape(g, b, *shape),
                sample.discounts.reshape(g, b))

    def _train_sequences(self, g: int, b: int) -> tuple[Any, Any]:
        """G gradient steps on G batches of B windows (one graph call)."""
        c = self.config
        s = self.replay.sample_sequences(self.rng, g * b, c.sequence_length, c.discount_rate,
                                         c.burn_in)
        w = c.burn_in + c.sequence_length
        return self.learner.train(
            s.observations.reshape(g, b, w + 1, *self.obs_shape), s.mask.reshape(g, b, w + 1),
            s.actions.reshape(g, b, w), s.rewards.reshape(g, b, w), s.discounts.reshape(g, b, w),
            s.loss_weights.reshape(g, b, w))

    def copy_critic_to_actor(self) -> None:
        """Copy the critic's weights to the actor now (the graph does it every copy_steps)."""
        self.join_training()
        self.learner.copy_critic_to_actor()
        self._numpy_stale = True

    # -- saving ---------------------------------------------------------------------------

    def save_state(self, directory: Path) -> None:
        """Weights, optimizer variables, counters, RNG state and the replay memory."""
        directory = Path(directory)
        self._save_weights_and_counters(directory, policy_only=False)
        save_optimizer_variables(directory / OPTIMIZER_FILE, self.learner.optimizer)
        if self.replay is not None:
            self.replay.save(directory / "replay")

    def save_policy(self, directory: Path) -> None:
        """Weights and counters only: no optimizer slots, no replay (``RUN_DIR/best/``)."""
        self._save_weights_and_counters(Path(directory), policy_only=True)

    def _save_weights_and_counters(self, directory: Path, policy_only: bool) -> None:
        last = self.join_training()  # the networks as of the last round's end
        state = {
            "env_steps": self.env_steps, "train_steps": self.train_steps,
            "next_round_at": self.next_round_at, "stack_size": self.stack_size,
            "padding": self.padding, "rng": self.rng.bit_generator.state,
            "eval_rng": self.eval_rng.bit_generator.state,
            "replay_streams": None if self.replay is None or policy_only else self.replay.num_streams,
            "policy_only": policy_only, "last_round": None if last is None else list(last),
        }
        save_weights_and_counters(directory, (self.critic, self.actor, self.player), state)

    def load_state(self, directory: Path) -> None:
        directory = Path(directory)
        state, player_loaded = load_weights_and_counters(directory, (self.critic, self.actor, self.player),
                                                         self.learner.optimizer)
        if not player_loaded:  # saved without overlap: the player starts level with the playing net
            self._sync_player()
        self.env_steps, self.train_steps = state["env_steps"], state["train_steps"]
        self.learner.train_steps.assign(self.train_steps)
        self.next_round_at = state["next_round_at"]
        self.stack_size, self.padding = state["stack_size"], state["padding"]
        self.rng.bit_generator.state = state["rng"]
        if "eval_rng" in state:
            self.eval_rng.bit_generator.state = state["eval_rng"]
        if self._rounds is not None and state.get("last_round") is not None:
            loss, q_mean = state["last_round"]
            self._rounds.last = (float(loss), float(q_mean))
        if state["replay_streams"] is not None:
            self.replay = self._make_replay(state["replay_streams"])
            self.replay.load(directory / "replay")
        self._numpy_stale = True
