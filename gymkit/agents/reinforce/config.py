"""The REINFORCE agent's configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gymkit.config import AgentConfig, param
from gymkit.errors import ConfigError


@dataclass(frozen=True)
class ReinforceConfig(AgentConfig):
    """Hyperparameters of :class:`~gymkit.agents.reinforce.ReinforceAgent`.

    The defaults are the tuned CartPole settings (preset ``reinforce-cartpole``); the book's
    exact settings are the preset ``reinforce-cartpole-book``.
    """

    discount_rate: float = param(0.99, "discount rate r (gamma) of the action scores", low=0.0, high=1.0)
    episodes_per_update: int = param(
        10, "complete episodes played before each policy update (the book's n_games_per_update)", low=1
    )
    hidden_sizes: tuple[int, ...] = param((32, 32), "units of each hidden layer of the encoder", low=1)
    activation: str = param("tanh", "activation of the hidden layers (Keras name; the book uses elu)")
    kernel_initializer: str = param(
        "he_normal", "initializer of every dense kernel (Keras name; the book uses He initialisation)"
    )
    head_init_scale: float = param(
        1.0,
        "scale of the policy head's initial weights; small values (0.01) start near a uniform policy",
        low=0.0, low_open=True,
    )
    encoder: str = param("mlp", "encoder spec: a name from gymkit.encoders or 'module:function'")
    encoder_options: dict[str, Any] | None = param(
        None, "extra keyword arguments for the encoder builder (e.g. a path for a pretrained encoder)"
    )
    optimizer: str = param("adam", "optimizer of the policy (and value) network",
                           choices=("adam", "rmsprop", "sgd"))
    learning_rate: float = param(0.01, "learning rate of the policy network", low=0.0, low_open=True)
    baseline: str = param(
        "value",
        "'value': subtract a learnt state value V(s) from each return; 'none': use the returns as is",
        choices=("none", "value"),
    )
    normalize_scores: bool = param(
        True, "standardise the action scores over the batch (the book's discount_and_normalize_rewards)"
    )
    value_learning_rate: float | None = param(
        None, "learning rate of the value network (default: learning_rate)", low=0.0, low_open=True
    )
    bootstrap_truncated: bool = param(
        True, "with a value baseline, add r^k V(s_T) to the returns of episodes cut by a time limit"
    )
    entropy_coef: float = param(0.0, "weight of the entropy bonus added to the objective", low=0.0)
    max_grad_norm: float | None = param(
        None, "clip each network's gradients to this global norm (None: no clipping)", low=0.0, low_open=True
    )
    eval_mode: str = param(
        "greedy",
        "action choice when not exploring: 'greedy' (argmax) or 'sample' (from the policy, as in training)",
        choices=("greedy", "sample"),
    )
    act_backend: str = param(
        "auto",
        "forward pass used to act: 'numpy' (dense-only, gymkit's CNN or recurrent encoders), 'tf' (a tf.function), "
        "'auto' (numpy if it can)",
        choices=("auto", "numpy", "tf"),
    )

    def check(self) -> None:
        if self.value_learning_rate is not None and self.baseline != "value":
            raise ConfigError(
                f"value_learning_rate={self.value_learning_rate} has no effect with "
                f"baseline={self.baseline!r}: set baseline=value or drop value_learning_rate"
            )
