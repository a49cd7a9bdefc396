"""Q-networks: an encoder from :mod:`gymkit.encoders` with a Q-value head on top.

``q_network`` is the book's name: a function building one DQN. The agent builds two of the
same architecture, the critic (learns) and the actor (a copy refreshed every
``copy_steps``), and ``copy_critic_to_actor`` assigns every critic variable to the actor's.

For small dense networks acting goes through NumPy (:class:`NumpyQ`): a Keras call costs
milliseconds per step, a NumPy forward pass of a 4-256-256-2 MLP tens of microseconds.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


def q_network(
    encoder: str,
    observation_space: Any,
    n_outputs: int,
    *,
    hidden_sizes: tuple[int, ...] = (64, 64),
    dueling: bool = False,
    seed: int | None = None,
    name: str = "q_network",
    encoder_options: dict[str, Any] | None = None,
) -> Any:
    """Build a Keras model ``observations -> Q-values`` (one per action).

    A recurrent encoder (``simple-rnn``, ``lstm``, ``gru`` or any encoder with
    ``is_recurrent``) gives a :class:`gymkit.agents.dqn.recurrent.RecurrentQNetwork` instead,
    from sequences ``(B, T, *obs)`` to Q-values ``(B, T, n_outputs)``.

    Args:
        encoder: an encoder spec (``mlp``, ``book-cnn``, ``nature-cnn``, ``simple-rnn``,
            ``lstm``, ``gru`` or ``module:function``).
        observation_space: the single observation space (a Box).
        n_outputs: number of discrete actions.
        hidden_sizes: hidden layer sizes of the ``mlp`` encoder (of the stacked layers of a
            recurrent one).
        dueling: put a dueling head on the features: ``Q(s, a) = V(s) + A(s, a) - mean_a A(s, a)``.
        seed: seeds every initializer, so two builds with one seed are identical.
        name: the model's name (``critic`` or ``actor``).
        encoder_options: extra keyword arguments for the encoder builder.
    """
    import keras

    from gymkit.agents.dqn.config import RECURRENT_ENCODERS
    from gymkit.encoders import make_encoder

    options: dict[str, Any] = {"seed": seed}
    if encoder == "mlp" or encoder in RECURRENT_ENCODERS:
        options.update(hidden_sizes=tuple(hidden_sizes), name=f"{name}_encoder")
    options.update(encoder_options or {})
    features_model = make_encoder(encoder, observation_space, **options)
    if getattr(features_model, "is_recurrent", False):
        from gymkit.agents.dqn.recurrent import RecurrentQNetwork

        return RecurrentQNetwork(features_model, n_outputs, dueling=dueling, seed=seed, name=name)
    inputs = keras.Input(shape=tuple(observation_space.shape),
                         dtype=features_model.inputs[0].dtype, name="observations")
    features = features_model(inputs)
    # He initialisation for the head too, as the book's variance_scaling_initializer.
    base = 10_000 if seed is None else seed + 10_000

    def init(offset: int) -> Any:
        return keras.initializers.HeNormal(seed=None if seed is None else base + offset)

    if dueling:
        value = keras.layers.Dense(1, kernel_initializer=init(0), name="value")(features)
        advantages = keras.layers.Dense(n_outputs, kernel_initializer=init(1),
                                        name="advantages")(features)
        q_values = DuelingCombine(name="dueling")([value, advantages])
    else:
        q_values = keras.layers.Dense(n_outputs, kernel_initializer=init(0),
                                      name="q_values")(features)
    return keras.Model(inputs, q_values, name=name)


@functools.cache
def _dueling_layer() -> type:
    import keras

    class _DuelingCombine(keras.layers.Layer):
        """``Q = V + A - mean(A)``: the mean keeps V and A identifiable (Wang et al., 2016)."""

        def call(self, inputs: list[Any]) -> Any:
            value, advantages = inputs
            return value + advantages - keras.ops.mean(advantages, axis=1, keepdims=True)

    return _DuelingCombine


def DuelingCombine(**kwargs: Any) -> Any:  # noqa: N802 - a layer factory, named like a class
    """The dueling aggregation layer (built lazily so this module imports no Keras)."""
    return _dueling_layer()(**kwargs)


def torch_style_init(model: Any, seed: int, *, encoder_too: bool = True) -> None:
    """Re-draw every Dense/Conv kernel and bias from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    This is PyTorch's default initialisation (``kaiming_uniform_(a=sqrt(5))``), the one
    Stable-Baselines3's networks start from; seeded, so two calls with one seed agree.
    With ``encoder_too=False`` only the head is re-drawn (a pretrained encoder keeps its weights).
    """
    rng = np.random.default_rng(seed)
    layers = _leaf_layers(model) if encoder_too else [
        layer for layer in model.layers if not hasattr(layer, "layers")]
    for layer in layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        bound = 1.0 / np.sqrt(int(np.prod(kernel.shape[:-1])))  # fan_in = all but the output axis
        kernel.assign(rng.uniform(-bound, bound, tuple(kernel.shape)).astype(np.float32))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.uniform(-bound, bound, tuple(layer.bias.shape)).astype(np.float32))


def _leaf_layers(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        out.extend(_leaf_layers(layer) if hasattr(layer, "layers") else [layer])
    return out


def copy_critic_to_actor(critic: Any, actor: Any) -> None:
    """Assign every critic variable to the actor's (the book's ``copy_critic_to_actor`` op)."""
    for actor_var, critic_var in zip(actor.weights, critic.weights, strict=True):
        actor_var.assign(critic_var)


_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0, out=x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "tanh": np.tanh,
    "linear": lambda x: x,
}


class NumpyQ:
    """A NumPy forward pass of a dense Q-network (MLP encoder, plain or dueling head).

    Build with :meth:`from_model`, which returns None for anything but Dense/Flatten layers
    with relu/elu/tanh/linear activations; call :meth:`refresh` after the weights change.
    """

    def __init__(self, layers: list[tuple[Any, str]], dueling: bool) -> None:
        self.layers = layers  # (keras Dense layer, activation name), in order
        self.dueling = dueling
        self.params: list[tuple[np.ndarray, np.ndarray]] = []
        self.refresh()

    @classmethod
    def from_model(cls, model: Any) -> NumpyQ | None:
        import keras

        layers: list[tuple[Any, str]] = []

        def walk(layer: Any) -> bool:
            if isinstance(layer, keras.Model):
                return all(walk(sub) for sub in layer.layers)
            if isinstance(layer, keras.layers.InputLayer | keras.layers.Flatten):
                return True
            if isinstance(layer, keras.layers.Dense):
                act = getattr(layer.activation, "__name__", "")
                if act not in _ACTIVATIONS or not layer.use_bias:
                    return False
                layers.append((layer, act))
                return True
            return layer.name == "dueling"

        if not walk(model):
            return None
        dueling = any(layer.name == "dueling" for layer in model.layers)
        return cls(layers, dueling)

    def refresh(self) -> None:
        """Read the current weights out of the Keras variables."""
        self.params = [(np.asarray(layer.kernel.numpy(), dtype=np.float32),
                        np.asarray(layer.bias.numpy(), dtype=np.float32)) for layer, _ in self.layers]
        n_body = len(self.layers) - (2 if self.dueling else 1)
        self._body = [(k, b, _ACTIVATIONS[act]) for (k, b), (_, act)
                      in zip(self.params[:n_body], self.layers[:n_body], strict=True)]

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
        for kernel, bias, activation in self._body:
            x = activation(x @ kernel + bias)
        if not self.dueling:
            kernel, bias = self.params[-1]
            return x @ kernel + bias
        (vk, vb), (ak, ab) = self.params[-2], self.params[-1]
        advantages = x @ ak + ab
        return (x @ vk + vb) + advantages - advantages.mean(axis=1, keepdims=True)
