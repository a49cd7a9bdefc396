"""The pretrained encoder on disk, and the ``autoencoder@PATH`` encoder that agents load.

``gymkit pretrain`` writes ``encoder.keras`` (Keras' own format: the architecture and the
weights of observations -> codings, preparation included, built from stock Keras layers
only) and ``encoder.json`` beside it (kind, env, wrappers, settings, reconstruction error).
The observation shape and dtype the encoder accepts are its Keras input, so the check
against an agent's observation space needs only the ``.keras`` file; the sidecar, when
present, names the env it was trained on in the error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.errors import ConfigError, GymkitError

FORMAT_VERSION = 1
#: options the neural agents pass to every encoder builder; an autoencoder has its own layers
AGENT_OPTIONS = frozenset({"hidden_sizes", "activation", "kernel_initializer", "seed", "name"})


def sidecar_path(path: str | Path) -> Path:
    """``encoder.json`` for ``encoder.keras``."""
    return Path(path).with_suffix(".json")


def save_encoder(encoder: Any, path: str | Path, metadata: dict[str, Any]) -> Path:
    """Write ``encoder`` (a Keras model) to ``path`` (``.keras``) and its JSON sidecar."""
    path = Path(path)
    encoder.save(path)
    info = {"format_version": FORMAT_VERSION,
            "input_shape": list(encoder.input_shape[1:]),
            "input_dtype": str(encoder.inputs[0].dtype),
            "output_dim": int(encoder.output_dim), **metadata}
    sidecar_path(path).write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return path


def _space_dtype(observation_space: Any) -> str:
    """The dtype an encoder takes for this space: uint8 stays uint8, floats are float32."""
    return "uint8" if np.dtype(observation_space.dtype) == np.uint8 else "float32"


def load_encoder(path: str | Path, observation_space: Any | None = None,
                 trainable: bool = False) -> Any:
    """Load an encoder written by :func:`save_encoder`, checking it fits ``observation_space``.

    Raises:
        ConfigError: no such file, not a Keras encoder, or one trained on observations of
            another shape or dtype (the message names both).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no encoder file '{path}': give the encoder.keras that `gymkit pretrain "
                          "--out DIR` wrote, as autoencoder@DIR/encoder.keras")
    import keras

    try:
        # safe_mode: a .keras file is data; Keras refuses to deserialize Lambda layers (code)
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user error
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(f"cannot load encoder '{path}' ({type(exc).__name__}: {first}): give a "
                          "file written by gymkit pretrain") from None
    if observation_space is not None:
        have = (tuple(int(n) for n in model.input_shape[1:]), str(model.inputs[0].dtype))
        want = (tuple(int(n) for n in observation_space.shape), _space_dtype(observation_space))
        if have != want:
            where = ""
            if sidecar_path(path).is_file():
                from gymkit.safe_files import read_json

                try:
                    info = read_json(sidecar_path(path))
                    where = f" (pretrained on {info.get('env')} with wrappers {info.get('wrappers') or []})"
                except (GymkitError, AttributeError):
                    where = ""
            raise ConfigError(
                f"encoder '{path}' takes observations of shape {have[0]} {have[1]}{where}, but this "
                f"env's are {want[0]} {want[1]}: pretrain on this env and wrappers, or use those")
    model.trainable = bool(trainable)
    model.output_dim = int(np.prod(model.output.shape[1:]))
    return model


def build_autoencoder_encoder(observation_space: Any, path: str | None = None,
                              trainable: bool = False, **options: Any) -> Any:
    """The encoder spec ``autoencoder@PATH``: a pretrained encoder, frozen unless ``trainable``.

    Args:
        observation_space: the agent's observation space; it must match the encoder's input.
        path: the ``.keras`` file (the part of the spec after ``@``).
        trainable: fine-tune the encoder with the agent (default: frozen). REINFORCE takes it
            as ``encoder_options: {trainable: true}``; any agent gets it with the spec
            ``autoencoder-finetune@PATH``.
        **options: the agents' usual encoder options (``hidden_sizes``, ``activation``,
            ``kernel_initializer``, ``seed``, ``name``) are accepted and ignored: the layers
            come from the file.

    Raises:
        ConfigError: no path, an unknown option, an unreadable file, or an encoder pretrained
            on other observations.
    """
    unknown = sorted(set(options) - AGENT_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for the autoencoder encoder: "
                          "it takes only trainable (true: fine-tune, false: frozen)")
    if not path:
        raise ConfigError("the autoencoder encoder needs the file it loads: write the encoder as "
                          "autoencoder@PATH (PATH: the encoder.keras written by gymkit pretrain)")
    if not isinstance(trainable, bool):
        raise ConfigError(f"trainable={trainable!r} must be true or false")
    return load_encoder(path, observation_space, trainable=trainable)


def build_finetuned_encoder(observation_space: Any, path: str | None = None, **options: Any) -> Any:
    """The encoder spec ``autoencoder-finetune@PATH``: ``autoencoder@PATH`` with ``trainable=True``."""
    options.pop("trainable", None)
    return build_autoencoder_encoder(observation_space, path=path, trainable=True, **options)


# -- the whole autoencoder (decoder included), to draw pictures or train it further -----------


def _all_variables(ae: Any) -> list[Any]:
    from gymkit.encoders.autoencoders.models import unique_variables

    layers = [layer for s in ae.stages for layer in s.encode + s.decode]
    layers += [ae.gamma_layer] if ae.gamma_layer is not None else []
    return unique_variables([*ae.prepare.weights, *(v for layer in layers for v in layer.weights)])


def save_autoencoder_weights(ae: Any, path: str | Path) -> None:
    """Every variable of ``ae`` (preparation, encoder, decoder) to an ``.npz`` file."""
    arrays = {f"{i:03d}:{v.path}": np.asarray(v.numpy()) for i, v in enumerate(_all_variables(ae))}
    if ae.standardization is not None:
        arrays["standardization:0_mean"], arrays["standardization:1_variance"] = ae.standardization
    with open(path, "wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)


def load_pretrained(directory: str | Path) -> Any:
    """The whole autoencoder a ``gymkit pretrain`` directory holds, rebuilt and loaded."""
    import gymnasium as gym

    from gymkit.encoders.autoencoders.config import AutoencoderConfig
    from gymkit.encoders.autoencoders.models import build_autoencoder
    from gymkit.safe_files import load_npz, read_json

    directory = Path(directory)
    info = read_json(directory / "pretrain.json")
    try:
        shape, dtype = tuple(int(n) for n in info["observations"]["shape"]), np.dtype(info["observations"]["dtype"])
        if dtype.hasobject or dtype.kind not in "uif":
            raise TypeError(f"dtype {dtype}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{directory / 'pretrain.json'} does not describe the observations ({exc}): "
                          "give a directory written by gymkit pretrain") from None
    low, high = (0, 255) if dtype == np.uint8 else (-np.inf, np.inf)
    arrays = load_npz(directory / "autoencoder.weights.npz", finite="all")
    stats = [arrays.pop(k) for k in sorted(k for k in list(arrays) if k.startswith("standardization:"))]
    ae = build_autoencoder(gym.spaces.Box(low, high, shape, dtype), AutoencoderConfig.from_dict(info["config"]),
                           seed=int(info["seed"]), standardization=tuple(stats) if stats else None)
    variables = _all_variables(ae)
    names = sorted(arrays)
    if len(names) != len(variables):
        raise ConfigError(f"{directory / 'autoencoder.weights.npz'} holds {len(names)} arrays, the "
                          f"autoencoder of pretrain.json has {len(variables)} variables")
    for name, variable in zip(names, variables, strict=True):
        variable.assign(arrays[name])
    ae.settings["seed"] = int(info["seed"])
    return ae
