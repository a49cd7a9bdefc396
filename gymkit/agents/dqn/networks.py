"""Q-networks: an encoder from :mod:`gymkit.encoders` with a Q-value head on top.

``q_network`` is the book's name: a function building one DQN. The agent builds two of the
same architecture, the critic (learns) and the actor (a copy refreshed every
``copy_steps``, :func:`gymkit.agents.dqn.targets.copy_critic_to_actor`).

For small dense networks acting goes through NumPy
(:class:`gymkit.agents.nn.numpy_forward.NumpyForward`, shared with REINFORCE).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gymkit.agents.nn.graph_call import SignatureCall
from gymkit.agents.nn.heads import dueling_q
from gymkit.encoders.cnn import channels_last_view, set_channels_last_view


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
    head = _q_head(n_outputs, dueling, seed)
    model = keras.Model(inputs, head(features_model(inputs)), name=name)
    view = channels_last_view(features_model)
    if view is not None:  # the same layers on channels-last images (gymkit.encoders.cnn)
        view_inputs = keras.Input(shape=view.inputs[0].shape[1:], dtype=view.inputs[0].dtype,
                                  name="observations_hwc")
        set_channels_last_view(model, keras.Model(view_inputs, head(view(view_inputs)), name=f"{name}_hwc"))
    return model


def _q_head(n_outputs: int, dueling: bool, seed: int | None) -> Any:
    """The Q-value head's layers, as a function of the features (callable more than once:
    the channels-last view shares them)."""
    import keras

    # He initialisation for the head too, as the book's variance_scaling_initializer.
    # the head's seeds start 10,000 above the encoder's, so no two initializers share a stream
    base = 10_000 if seed is None else seed + 10_000

    def init(offset: int) -> Any:
        return keras.initializers.HeNormal(seed=None if seed is None else base + offset)

    if dueling:
        value = keras.layers.Dense(1, kernel_initializer=init(0), name="value")
        advantages = keras.layers.Dense(n_outputs, kernel_initializer=init(1), name="advantages")
        combine = DuelingCombine(name="dueling")
        return lambda features: combine([value(features), advantages(features)])
    return keras.layers.Dense(n_outputs, kernel_initializer=init(0), name="q_values")


@functools.cache
def _dueling_layer() -> type:
    import keras

    class _DuelingCombine(keras.layers.Layer):
        """``Q = V + A - mean(A)``: the mean keeps V and A identifiable (Wang et al., 2016)."""

        def call(self, inputs: list[Any]) -> Any:
            value, advantages = inputs
            return dueling_q(value, advantages, keras.ops)

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


def q_values_function(model: Any, observation_shape: tuple[int, ...], observation_dtype: Any) -> Any:
    """A ``tf.function`` ``observations -> Q-values`` of ``model`` with a fixed input signature
    (traced once), for networks the NumPy path cannot run."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *observation_shape], tf.as_dtype(observation_dtype))
    cast = model.inputs[0].dtype

    @tf.function(input_signature=[spec])
    def q_values(observations: Any) -> Any:
        return model(tf.cast(observations, cast), training=False)

    return SignatureCall(q_values)  # no per-call argument binding (graph_call.py)
