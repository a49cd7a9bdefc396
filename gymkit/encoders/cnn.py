"""Convolutional encoders for image observations: the book's ``q_network`` stack and Nature DQN's.

Both take the observations the Atari wrappers emit, as they are:

* ``(H, W)``: one grey frame (``mspacman``, ``AtariPreprocessing``);
* ``(H, W, C)``: channels last (the book's ``(88, 80, 1)``, RGB screens);
* ``(stack, H, W)``: ``FrameStackObservation`` of grey frames (channels first);
* ``(stack, H, W, C)``: ``FrameStackObservation`` of channels-last frames.

Inside the model, frames are moved to channels last (what TensorFlow's CPU convolutions
support) and uint8 pixels are divided by 255, so replay memory keeps one byte a pixel and
feeds the network directly. Float observations (the book's [-1, 1] scaling) are used as
they are.

For channels-first layouts (CHW, SHWC) the encoder also has a **channels-last view**
(:func:`channels_last_view`): a second Keras model over the *same* layers, from the layers
after the move onwards, that takes the images already channels last. A learner whose batches
come channels last (the replay memory writes them so at sampling time, one frame plane at a
time, about 0.3 ms for 32 Nature stacks) trains through it and skips a transpose per call
(about 0.9 ms each for s and s' on a 2-core CPU). The view shares every weight and is not a
tracked attribute of the model, so the saved weight files are unchanged.

The dense layer after the convolutions (:func:`wide_dense`) computes the gradient of its
input as ``(W dy^T)^T`` instead of ``dy W^T``: the same dot products, but oneDNN's matrix
product with a transposed 3136x512 operand took 2.1 ms where the untransposed one takes 0.9
ms.

The book's network (Figure 16-10) on 88x80x1, with SAME padding (out = ceil(in / stride))::

    conv 32 maps 8x8 /4 -> 22x20x32     (8*8*1*32 + 32   =     2,080 parameters)
    conv 64 maps 4x4 /2 -> 11x10x64     (4*4*32*64 + 64  =    32,832)
    conv 64 maps 3x3 /1 -> 11x10x64     (3*3*64*64 + 64  =    36,928)
    dense 512 on 11*10*64 = 7,040 inputs (7040*512 + 512 = 3,604,992)

The Nature network on 84x84x4, with VALID padding (out = (in - kernel) // stride + 1)::

    conv 32 8x8 /4 -> 20x20x32 (8,224); conv 64 4x4 /2 -> 9x9x64 (32,832);
    conv 64 3x3 /1 -> 7x7x64 (36,928); dense 512 on 3,136 (1,606,144)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from gymkit.errors import SpaceError


def _nature_shaped(observation_space: Any, seed: int | None, padding: str, name: str,
                   options: dict[str, Any]) -> Any:
    """The 32/64/64 maps, 8/4/3 kernels, 4/2/1 strides and dense 512 that the book's and the
    Nature conv stacks share, with their padding, under ``options``' overrides."""
    kwargs: dict[str, Any] = dict(conv_n_maps=(32, 64, 64), conv_kernel_sizes=(8, 4, 3), conv_strides=(4, 2, 1),
                                  conv_paddings=padding, n_hidden=512, name=name)
    kwargs.update(options)
    return build_cnn(observation_space, seed=seed, **kwargs)


def build_book_cnn(observation_space: Any, seed: int | None = None, **options: Any) -> Any:
    """The book's ``q_network`` conv stack (chapter 16): 32/64/64 maps, kernels 8/4/3,
    strides 4/2/1, SAME padding, then dense 512; ReLU and He initialisation throughout.

    Args:
        observation_space: a Box of images (see the module docstring for the layouts).
        seed: seeds the initializers (two builds with one seed have equal weights).
        **options: overrides of :func:`build_cnn`'s arguments.
    """
    return _nature_shaped(observation_space, seed, "same", "book_cnn_encoder", options)


def build_nature_cnn(observation_space: Any, seed: int | None = None, **options: Any) -> Any:
    """The Nature DQN conv stack (Mnih et al. 2015): 32 8x8/4, 64 4x4/2, 64 3x3/1, VALID
    padding, dense 512, ReLU.

    Args:
        observation_space: a Box of images (see the module docstring for the layouts).
        seed: seeds the initializers (two builds with one seed have equal weights).
        **options: overrides of :func:`build_cnn`'s arguments.
    """
    return _nature_shaped(observation_space, seed, "valid", "nature_cnn_encoder", options)


def image_layout(shape: Sequence[int], channels_first: bool | None = None) -> str:
    """How an observation shape is laid out: "HW", "HWC", "CHW" or "SHWC".

    A 3-D shape whose first axis is shorter than its last, e.g. ``(4, 84, 84)``, is taken as
    a frame stack (channels first); otherwise, e.g. ``(88, 80, 1)``, as channels last.
    ``channels_first`` overrides this guess for 3-D shapes.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) == 2:
        return "HW"
    if len(shape) == 3:
        if channels_first is None:
            channels_first = shape[0] < shape[-1]
        return "CHW" if channels_first else "HWC"
    if len(shape) == 4:
        return "SHWC"
    raise SpaceError(
        f"a CNN encoder needs image observations (H, W), (H, W, C), (stack, H, W) or "
        f"(stack, H, W, C), got shape {shape}: use the 'mlp' encoder for vector observations"
    )


def build_cnn(
    observation_space: Any,
    *,
    conv_n_maps: Sequence[int],
    conv_kernel_sizes: Sequence[int],
    conv_strides: Sequence[int],
    conv_paddings: str | Sequence[str] = "same",
    n_hidden: int = 512,
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    channels_first: bool | None = None,
    input_scale: float | None = None,
    seed: int | None = None,
    name: str = "cnn_encoder",
) -> Any:
    """Build a Keras model ``images -> features``: conv layers, flatten, one dense layer.

    Args:
        observation_space: a Box of images; uint8 or float.
        conv_n_maps: feature maps of each conv layer (the book's ``conv_n_maps``).
        conv_kernel_sizes: square kernel size of each conv layer.
        conv_strides: stride of each conv layer.
        conv_paddings: "same" or "valid", one for all layers or one per layer.
        n_hidden: units of the dense layer after the convs (0: features = flattened maps).
        activation: a Keras activation name for every layer.
        kernel_initializer: a Keras initializer name (He: "he_normal", the book's choice).
        channels_first: overrides the layout guess for 3-D shapes (see :func:`image_layout`).
        input_scale: multiply inputs by this; None means 1/255 for uint8, 1 for floats.
        seed: seeds the initializers, layer i with ``seed + i``.
        name: the model's name.

    Returns:
        A ``keras.Model`` with an ``output_dim`` attribute (features per observation).
    """
    import keras

    shape = tuple(int(n) for n in observation_space.shape)
    layout = image_layout(shape, channels_first)
    n_layers = len(conv_n_maps)
    paddings = [conv_paddings] * n_layers if isinstance(conv_paddings, str) else list(conv_paddings)
    if not (len(conv_kernel_sizes) == len(conv_strides) == len(paddings) == n_layers):
        raise SpaceError(
            "conv_n_maps, conv_kernel_sizes, conv_strides and conv_paddings must have one entry per layer"
        )
    dtype = np.dtype(observation_space.dtype)
    inputs = keras.Input(shape=shape, dtype=dtype.name, name="observations")
    x = to_channels_last(inputs, tuple(shape), layout)
    if input_scale is None:
        input_scale = 1 / 255 if dtype == np.uint8 else 1.0
    # Rescaling casts to float32 first, so uint8 pixels become [0, 1] inside the graph.
    body = [keras.layers.Rescaling(input_scale, name="scale_pixels")]

    def init(i: int) -> Any:
        return keras.initializers.get(
            {
                "class_name": kernel_initializer,
                "config": {"seed": None if seed is None else seed + i},
            }
        )

    x = body[0](x)
    for i, (maps, kernel, stride, padding) in enumerate(
        zip(conv_n_maps, conv_kernel_sizes, conv_strides, paddings, strict=True)
    ):
        if min(x.shape[1], x.shape[2]) < (kernel if padding.lower() == "valid" else 1):
            raise SpaceError(
                f"images of shape {shape} are too small for conv layer {i} ({kernel}x{kernel} "
                f"VALID): use larger frames or the 'book-cnn' encoder (SAME padding)"
            )
        body.append(keras.layers.Conv2D(
            int(maps),
            int(kernel),
            strides=int(stride),
            padding=padding.lower(),
            activation=activation,
            kernel_initializer=init(i),
            name=f"conv_{i}",
        ))
        x = body[-1](x)
    body.append(keras.layers.Flatten(name="flatten"))
    if n_hidden:
        body.append(wide_dense(int(n_hidden), activation=activation, kernel_initializer=init(n_layers),
                               name="hidden"))
    for layer in body[1 + n_layers:]:  # flatten (and the dense layer): the convs ran above
        x = layer(x)
    model = keras.Model(inputs, x, name=name)
    model.output_dim = int(np.prod(model.output.shape[1:]))  # features per observation
    # built here from layers whose NumPy twins tests/test_dqn.py holds to Keras's answers: the
    # acting path need not check it again at run time (gymkit.agents.nn.numpy_forward)
    object.__setattr__(model, "_gymkit_cnn", True)
    if layout in ("CHW", "SHWC"):
        view_input = keras.Input(shape=channels_last_shape(shape), dtype=dtype.name, name="observations_hwc")
        y = view_input
        for layer in body:
            y = layer(y)
        set_channels_last_view(model, keras.Model(view_input, y, name=f"{name}_hwc"))
    return model


def channels_last_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """A channels-first observation shape with its first axis moved last (and merged with a
    trailing channel axis): ``(k, H, W) -> (H, W, k)``, ``(k, H, W, C) -> (H, W, k * C)``."""
    first, height, width, *channels = (int(n) for n in shape)
    return (height, width, first * int(np.prod(channels, dtype=np.int64)))


def channels_last_view(model: Any) -> Any:
    """The channels-last view of ``model`` (see the module docstring), or None."""
    return getattr(model, "_gymkit_channels_last_view", None)


def set_channels_last_view(model: Any, view: Any) -> None:
    """Attach ``view`` to ``model`` without Keras tracking it (its weights are the model's own;
    a tracked attribute would add a second path to them in the saved weight files)."""
    object.__setattr__(model, "_gymkit_channels_last_view", view)


def wide_dense(units: int, **kwargs: Any) -> Any:
    """A Keras ``Dense`` layer whose input gradient is computed as ``(W dy^T)^T`` (same
    weights, names and forward pass as ``keras.layers.Dense``; see the module docstring)."""
    return _wide_dense_class()(units, **kwargs)


@functools.cache
def _wide_dense_class() -> type:
    import keras
    import tensorflow as tf

    @tf.custom_gradient
    def matmul(inputs: Any, kernel: Any) -> Any:
        def grad(upstream: Any) -> tuple[Any, Any]:
            # dL/dx = dy W^T, computed untransposed as (W dy^T)^T; dL/dW = x^T dy as TensorFlow has it
            return (tf.transpose(tf.matmul(kernel, upstream, transpose_b=True)),
                    tf.matmul(inputs, upstream, transpose_a=True))

        return tf.matmul(inputs, kernel), grad

    class Dense(keras.layers.Dense):
        """``keras.layers.Dense`` with :func:`wide_dense`'s input gradient (2-D inputs; others
        go through Dense's own call). Named ``Dense`` because Keras's weight files name a
        layer's entry after its class: the saved weights stay where Dense put them."""

        def call(self, inputs: Any, training: Any = None) -> Any:
            if (len(inputs.shape) != 2 or getattr(self, "lora_enabled", False)
                    or getattr(self, "quantization_mode", None)):
                return super().call(inputs, training=training)
            x = matmul(inputs, tf.convert_to_tensor(self.kernel))
            if self.bias is not None:
                x = keras.ops.add(x, self.bias)
            if self.activation is not None:
                x = self.activation(x)
            return x

    return Dense


def to_channels_last(x: Any, shape: tuple[int, ...], layout: str) -> Any:
    """Keras layers that bring images of ``layout`` (HW, HWC, CHW, SHWC) to HWC: TensorFlow's
    CPU Conv2D does not run NCHW, and a frame stack becomes channels."""
    import keras

    if layout == "HW":
        return keras.layers.Reshape((*shape, 1), name="add_channel")(x)
    if layout == "CHW":
        return keras.layers.Permute((2, 3, 1), name="to_channels_last")(x)
    if layout == "SHWC":
        stack, height, width, channels = shape
        x = keras.layers.Permute((2, 3, 1, 4), name="to_channels_last")(x)
        return keras.layers.Reshape((height, width, stack * channels), name="merge_stack")(x)
    return x
