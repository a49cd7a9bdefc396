"""DQNConfig: every hyperparameter of the DQN agent. Defaults are the book's (Chapter 16)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gymkit.config import AgentConfig, param
from gymkit.errors import ConfigError

#: encoder specs the config knows to be recurrent (a custom ``module:function`` encoder is
#: checked when the agent builds it, by its ``is_recurrent`` attribute)
RECURRENT_ENCODERS = ("simple-rnn", "lstm", "gru")


@dataclass(frozen=True)
class DQNConfig(AgentConfig):
    """Deep Q-Learning with a critic (online network) and an actor (target network).

    The defaults reproduce the book's Ms. Pac-Man agent: the actor plays and provides the
    targets (Eq. 16-7), MSE loss, Adam. The modern variants are options: ``act_with: critic``
    (Nature DQN), ``double_dqn``, ``dueling``, ``n_step``, ``loss: huber``, ``max_grad_norm``,
    ``optimizer: rmsprop``.

    A recurrent encoder (``simple-rnn``, ``lstm``, ``gru``; ``encoder_options`` such as
    ``{peephole: true}``) makes a recurrent DQN: it replays windows of ``burn_in +
    sequence_length`` consecutive steps (no loss on the burn-in) and carries each env's state
    while acting. It supports ``n_step: 1`` only.
    """

    # -- networks ---------------------------------------------------------------------------
    encoder: str = param("mlp", "encoder spec: mlp, book-cnn, nature-cnn or module:function")
    hidden_sizes: tuple[int, ...] = param((64, 64), "units per hidden layer of the mlp encoder (of "
                                          "each stacked layer of a recurrent encoder)", low=1)
    encoder_options: dict[str, Any] | None = param(
        None, "extra keyword arguments for the encoder builder (e.g. {peephole: true} for lstm)")
    initializer: str = param("he", "weight init: he (the book's He init) or torch (U(+-1/sqrt(fan_in)) "
                             "for weights and biases, PyTorch's default, as in SB3)", choices=("he", "torch"))
    dueling: bool = param(False, "dueling head: Q = V + A - mean(A)")
    act_with: str = param("actor", "network that plays: actor (the book) or critic (Nature DQN)",
                          choices=("actor", "critic"))
    double_dqn: bool = param(False, "Double DQN targets: the critic picks a', the actor rates it")
    # -- learning ---------------------------------------------------------------------------
    loss: str = param("mse", "TD loss: mse (Eq. 16-7) or huber", choices=("mse", "huber"))
    optimizer: str = param("adam", "optimizer", choices=("adam", "rmsprop"))
    learning_rate: float = param(0.001, "optimizer learning rate", low=0.0, low_open=True)
    lr_decay_steps: int = param(0, "training steps over which the learning rate falls linearly to "
                                   "learning_rate_final (0: constant)", low=0)
    learning_rate_final: float = param(0.0, "learning rate at the end of lr_decay_steps", low=0.0)
    optimizer_epsilon: float = param(1e-7, "optimizer epsilon (Adam/RMSprop)", low=0.0, low_open=True)
    max_grad_norm: float = param(0.0, "clip gradients to this global norm (0: no clipping)", low=0.0)
    discount_rate: float = param(0.95, "discount rate gamma", low=0.0, high=1.0)
    n_step: int = param(1, "n-step returns (1: the book's one-step target)", low=1)
    batch_size: int = param(50, "transitions per gradient step", low=1)
    replay_memory_size: int = param(10_000, "transitions the replay memory holds", low=1)
    replay_stack: int = param(0, "frames per stacked observation the replay rebuilds "
                                 "(0: detect FrameStackObservation; 1: store observations whole)",
                              low=0)
    training_start: int = param(1_000, "env steps before the first training step", low=0)
    training_interval: int = param(3, "env steps between training rounds", low=1)
    gradient_steps: int = param(1, "gradient steps per training round (run in one graph call)", low=1)
    copy_steps: int = param(25, "training steps between copies of the critic to the actor", low=1)
    # -- recurrent Q-networks (encoder simple-rnn, lstm or gru) ---------------------------------
    sequence_length: int = param(8, "steps per replayed sequence that carry a loss (recurrent "
                                    "encoders; cover a whole episode for long memories)", low=1)
    burn_in: int = param(0, "extra steps before each replayed sequence that only warm up the "
                            "recurrent state, without loss (R2D2's burn-in)", low=0)
    jit_compile: bool = param(False, "XLA-compile the update (measure first: often no gain on CPU)")
    jit_step: bool | str = param(False, "XLA-compile one gradient step and run the G steps of a round "
                                        "from Python (conv nets: XLA runs them slowly inside a graph loop "
                                        "on CPU); auto: only where TensorFlow's oneDNN kernels are off "
                                        "(with them on, TensorFlow's own conv kernels are the faster)",
                                 choices=(True, False, "auto"))
    overlap: bool = param(False, "train each round in a background thread while the next "
                                 "training_interval env steps are played with the weights as of the "
                                 "round's start (acting lags one round; runs stay deterministic)")
    act_backend: str = param("auto", "forward pass used to act: numpy (dense networks, gymkit's CNN and "
                                     "recurrent encoders), tf (a tf.function), auto (numpy where it can)",
                             choices=("auto", "numpy", "tf"))
    # -- exploration ------------------------------------------------------------------------
    eps_max: float = param(1.0, "epsilon at the start of training", low=0.0, high=1.0)
    eps_min: float = param(0.05, "epsilon after the decay", low=0.0, high=1.0)
    eps_decay_steps: int = param(50_000, "steps of the linear epsilon decay", low=0)
    eps_decay_unit: str = param("training_steps", "what eps_decay_steps counts: training_steps "
                                "(the book) or env_steps", choices=("training_steps", "env_steps"))
    eps_eval: float = param(0.0, "epsilon when acting with explore=False (evaluation)",
                            low=0.0, high=1.0)

    @property
    def recurrent(self) -> bool:
        """True when ``encoder`` names a built-in recurrent encoder (simple-rnn, lstm, gru)."""
        return self.encoder in RECURRENT_ENCODERS

    def check(self) -> None:
        if self.batch_size > self.replay_memory_size:
            raise ConfigError(
                f"batch_size={self.batch_size} is larger than replay_memory_size="
                f"{self.replay_memory_size}: give a smaller batch_size or a larger replay_memory_size"
            )
        if self.eps_min > self.eps_max:
            raise ConfigError(
                f"eps_min={self.eps_min} is above eps_max={self.eps_max}: give eps_min <= eps_max"
            )
        if self.n_step > 1 and self.replay_memory_size <= self.n_step:
            raise ConfigError(
                f"replay_memory_size={self.replay_memory_size} cannot hold n_step={self.n_step} "
                "transitions: give a larger replay_memory_size"
            )
        if self.recurrent:
            check_recurrent(self)
        if self.overlap and self.recurrent:
            raise ConfigError(f"overlap=true is not supported with the recurrent encoder '{self.encoder}' "
                              "(its acting state follows the learner): use overlap=false")


def check_recurrent(config: DQNConfig) -> None:
    """Refuse settings the recurrent DQN does not support (one-line errors naming the fix)."""
    if config.n_step > 1:
        raise ConfigError(f"n_step={config.n_step} is not supported with the recurrent encoder "
                          f"'{config.encoder}': use n_step=1")
    window = config.burn_in + config.sequence_length + 1
    if window > config.replay_memory_size:
        raise ConfigError(
            f"burn_in + sequence_length + 1 = {window} steps do not fit in replay_memory_size="
            f"{config.replay_memory_size}: give a larger replay_memory_size or shorter sequences"
        )
