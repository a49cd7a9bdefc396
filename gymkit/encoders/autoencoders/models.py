"""The autoencoders of chapter 15 as Keras layers, arranged in stages.

An autoencoder here is a *preparation* (observations -> the inputs ``x0`` it reconstructs),
then stages ``i = 1 .. n``, each an encoder block ``h_{i-1} -> h_i`` and its mirror decoder
block ``h_i -> h_{i-1}`` (the book's "sandwich": hidden layers, then the coding layer
``h_n``, then the decoder layers in reverse order). Stages are what greedy layer-wise
training trains one at a time (Figure 15-4).

* Preparation: uint8 pixels are divided by 255 (the targets are in [0, 1]); float vectors
  are standardised with the mean and variance of the collected observations (``standardize``);
  images for conv layers are moved to channels last, as in :mod:`gymkit.encoders.cnn`.
* Dense architecture: hidden dense layers, then the coding layer; the decoder mirrors them.
* Conv architecture (images): the book's ``q_network`` convs (SAME padding), then dense
  layers down to the codings; each conv's decoder is a ``Conv2DTranspose`` with the same
  kernel and stride, cropped back to the conv's input size when SAME padding rounded up.
  With the defaults, the encoder *is* ``book-cnn`` (conv 32/64/64, dense 512, ReLU).
* Kinds: ``linear`` (one linear coding layer, linear outputs: PCA), ``stacked``,
  ``denoising`` (noise on the inputs, training only), ``sparse`` (sigmoid codings plus the KL
  sparsity loss), ``variational`` (the coding layer gives the mean coding ``mu`` and a second
  layer ``gamma = log(sigma^2)``; training samples ``z = mu + exp(gamma / 2) * eps``).

The decoder's output bias starts at the mean training input (per pixel for conv decoders,
through :class:`~gymkit.encoders.autoencoders.layers.PixelBias`), so training starts from
the mean-frame reconstruction rather than from noise.

The encoder that agents load maps observations to codings deterministically (``mu`` for the
variational kind, no noise for the denoising kind).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from gymkit.encoders.autoencoders.config import AutoencoderConfig
from gymkit.encoders.autoencoders.layers import DenseTranspose, PixelBias
from gymkit.encoders.autoencoders.settings import (  # noqa: F401  (IMAGE_CODINGS re-exported)
    IMAGE_CODINGS,
    resolve_settings,
)
from gymkit.encoders.cnn import image_layout, to_channels_last


@dataclass
class Stage:
    """One shallow autoencoder of the stack: ``encode`` h_{i-1} -> h_i, ``decode`` back."""

    encode: list[Any]
    decode: list[Any]


@dataclass
class Autoencoder:
    """A built autoencoder: its layers, the encoder and decoder models, and what it resolved."""

    kind: str
    config: AutoencoderConfig
    settings: dict[str, Any]  # the values actually used (auto defaults resolved)
    observation_space: Any
    prepare: keras.Model  # observations -> x0, the inputs as reconstructed
    stages: list[Stage]
    noise: Any | None  # GaussianNoise or Dropout (denoising), active only in training
    gamma_layer: Any | None  # variational: gamma = log(sigma^2)
    logits: bool  # the last decoder layer outputs logits (cross-entropy loss)
    #: (mean, variance) of the standardisation (Keras keeps them as constants, not variables)
    standardization: tuple[np.ndarray, np.ndarray] | None = field(init=False, default=None)
    encoder: keras.Model = field(init=False)  # observations -> codings (what agents load)
    decoder: keras.Model = field(init=False)  # codings -> reconstruction of x0

    def __post_init__(self) -> None:
        spec = self.prepare.inputs[0]
        obs = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name="observations")
        self.encoder = keras.Model(obs, self.encode(self.prepare(obs)),
                                   name=f"{self.kind}_autoencoder_encoder")
        self.encoder.output_dim = int(self.settings["codings"])
        codings = keras.Input(shape=(int(self.settings["codings"]),), name="codings")
        self.decoder = keras.Model(codings, self.decode(codings), name=f"{self.kind}_decoder")

    # -- the forward passes (used inside tf.functions and to build the models) ----------

    def encode(self, x0: Any) -> Any:
        """Deterministic codings of prepared inputs (``mu`` for the variational kind)."""
        return self.encode_parts(x0)[0]

    def encode_parts(self, x0: Any, training: bool = False) -> tuple[Any, Any | None]:
        """``(codings, gamma)``; noise is applied when ``training``; gamma is None unless variational."""
        h = self.noise(x0, training=training) if (self.noise is not None and training) else x0
        for stage in self.stages[:-1]:
            h = run(stage.encode, h)
        last = self.stages[-1].encode
        h = run(last[:-1], h)  # Flatten after convs, if any
        codings = last[-1](h)
        gamma = self.gamma_layer(h) if self.gamma_layer is not None else None
        return codings, gamma

    def decode_logits(self, codings: Any) -> Any:
        """Decoder output before the sigmoid (the same as :meth:`decode` unless ``logits``)."""
        h = codings
        for stage in reversed(self.stages):
            h = run(stage.decode, h)
        return h

    def decode(self, codings: Any) -> Any:
        """Reconstructions of x0 from codings."""
        out = self.decode_logits(codings)
        return keras.ops.sigmoid(out) if self.logits else out

    def trainable_variables(self) -> list[Any]:
        """Every variable of the stages (a tied kernel once), for the optimizer."""
        layers = [layer for s in self.stages for layer in s.encode + s.decode]
        layers += [self.gamma_layer] if self.gamma_layer is not None else []
        return unique_variables(v for layer in layers for v in layer.trainable_variables)


def run(layers: list[Any], x: Any) -> Any:
    """Apply ``layers`` in order."""
    for layer in layers:
        x = layer(x)
    return x


def unique_variables(variables: Any) -> list[Any]:
    """Variables in order, each once (a tied kernel appears in two layers)."""
    seen: set[int] = set()
    out = []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _prepare(observation_space: Any, s: dict[str, Any], mean: Any, variance: Any) -> keras.Model:
    """observations -> x0: flat (dense) or channels-last (conv), scaled or standardised."""
    shape = tuple(s["observation_shape"])
    uint8 = s["observation_dtype"] == "uint8"
    inputs = keras.Input(shape=shape, dtype="uint8" if uint8 else "float32", name="observations")
    x = inputs
    if s["architecture"] == "dense":
        x = keras.layers.Flatten(name="flatten_inputs")(x) if len(shape) > 1 else x
    else:
        x = to_channels_last(x, tuple(shape), image_layout(shape))
    if uint8:
        x = keras.layers.Rescaling(1 / 255, name="scale_pixels")(x)  # casts to float32 first
    elif s["standardize"]:
        x = keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(x)
    return keras.Model(inputs, x, name="prepare")


def build_autoencoder(observation_space: Any, config: AutoencoderConfig, *, seed: int = 0,
                      observations: np.ndarray | None = None,
                      standardization: tuple[np.ndarray, np.ndarray] | None = None) -> Autoencoder:
    """Build (untrained) the autoencoder ``config`` describes for ``observation_space``.

    Args:
        observation_space: a Box; vectors get dense layers, images (2-D and up) conv layers.
        config: the autoencoder's settings.
        seed: seeds every initializer and the noise.
        observations: the training observations, for the standardisation statistics and
            the decoder's initial output bias (their mean).
        standardization: ``(mean, variance)`` to use instead of the observations' (loading).
    """
    s = resolve_settings(observation_space, config)
    mean = variance = None
    if s["standardize"]:
        n = int(np.prod(s["observation_shape"]))
        if standardization is not None:
            mean, variance = standardization
        elif observations is not None and len(observations):
            flat = np.asarray(observations, np.float64).reshape(len(observations), n)
            mean, variance = flat.mean(axis=0), flat.var(axis=0)
        else:
            mean, variance = np.zeros(n), np.ones(n)
    prepare = _prepare(observation_space, s, mean, variance)
    x0_mean = np.zeros(prepare.output.shape[1:], np.float32)
    if observations is not None and len(observations):
        batches = [np.asarray(prepare(observations[i:i + 1024])) for i in range(0, len(observations), 1024)]
        x0_mean = (sum(b.sum(axis=0, dtype=np.float64) for b in batches) / len(observations)).astype(np.float32)
    kind, act = config.kind, s["activation"]
    counter = iter(range(seed * 1000, seed * 1000 + 1000))

    def init(activation: Any, tied: bool = False) -> Any:
        """He for ReLU/ELU (the book's choice), Glorot otherwise. A tied kernel also serves
        transposed, where its fan-in is the other side: He's variance 2/fan_in, on the
        average of both fans, keeps both uses of the kernel at a sane scale."""
        if tied:
            return keras.initializers.VarianceScaling(2.0, "fan_avg", "truncated_normal", seed=next(counter))
        cls = keras.initializers.HeNormal if activation in ("relu", "elu") else keras.initializers.GlorotUniform
        return cls(seed=next(counter))

    logits = s["reconstruction_loss"] == "cross_entropy"
    uint8 = s["observation_dtype"] == "uint8"
    out_act = None if (kind == "linear" or logits or not uint8) else "sigmoid"
    # The decoder's output bias starts at the mean input (its logit before a sigmoid or a
    # cross entropy): an untrained autoencoder answers the mean frame, and learns the rest.
    squash = logits or out_act == "sigmoid"
    clipped = np.clip(x0_mean, 1e-4, 1 - 1e-4)
    output_bias = np.log(clipped / (1 - clipped)) if squash else x0_mean
    coding_act = {"linear": None, "sparse": "sigmoid", "variational": None}.get(kind, act)

    stages: list[Stage] = []
    shape = tuple(prepare.output.shape[1:])  # h_{i-1}'s shape
    if s["architecture"] == "conv":
        for i, (maps, kernel, stride) in enumerate(
                zip(config.conv_n_maps, config.conv_kernel_sizes, config.conv_strides, strict=True)):
            d_act = None if i == 0 else act  # stage 1's activation follows its PixelBias
            conv = keras.layers.Conv2D(maps, kernel, strides=stride, padding="same", activation=act,
                                       kernel_initializer=init(act), name=f"conv_{i}")
            deconv = keras.layers.Conv2DTranspose(shape[-1], kernel, strides=stride, padding="same",
                                                  activation=d_act, kernel_initializer=init(d_act),
                                                  name=f"deconv_{i}")
            out_h, out_w = math.ceil(shape[0] / stride), math.ceil(shape[1] / stride)
            decode = [deconv]
            extra_h, extra_w = out_h * stride - shape[0], out_w * stride - shape[1]
            if extra_h or extra_w:
                decode.append(keras.layers.Cropping2D(((0, extra_h), (0, extra_w)), name=f"crop_{i}"))
            if i == 0:
                decode.append(PixelBias(output_bias, activation=out_act, name="output_bias"))
            stages.append(Stage([conv], decode))
            shape = (out_h, out_w, maps)
    widths = [*s["hidden_sizes"], s["codings"]]
    for j, units in enumerate(widths):
        coding = j == len(widths) - 1
        e_act = coding_act if coding else act
        d_act = out_act if not stages else act
        dense = keras.layers.Dense(units, activation=e_act, kernel_initializer=init(e_act, config.tied_weights),
                                   name="codings" if coding else f"hidden_{j}")
        encode, back = [dense], int(np.prod(shape))
        if config.tied_weights:
            decode = [DenseTranspose(dense, activation=d_act, name=f"tied_{j}")]
        else:
            decode = [keras.layers.Dense(back, activation=d_act, kernel_initializer=init(d_act),
                                         name=f"decoder_{j}")]
        if len(shape) > 1:  # the first dense layer after the convs
            encode.insert(0, keras.layers.Flatten(name="flatten_maps"))
            decode.append(keras.layers.Reshape(shape, name="unflatten_maps"))
        stages.append(Stage(encode, decode))
        shape = (units,)
    noise = None
    if kind == "denoising":
        noise = (keras.layers.GaussianNoise(config.noise_stddev, seed=seed, name="gaussian_noise")
                 if config.noise == "gaussian" else
                 keras.layers.Dropout(config.dropout_rate, seed=seed, name="dropout_noise"))
    gamma = None
    if kind == "variational":
        gamma = keras.layers.Dense(s["codings"], kernel_initializer=init(None), name="codings_gamma")
    ae = Autoencoder(kind, config, s, observation_space, prepare, stages, noise, gamma, logits)
    ae.standardization = None if mean is None else (np.asarray(mean), np.asarray(variance))
    if s["architecture"] == "dense":  # the output layer's own bias (conv: the PixelBias)
        ae.stages[0].decode[0].bias.assign(output_bias)
    return ae
