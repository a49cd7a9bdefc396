"""``gymkit pretrain``: collect observations, train an autoencoder, write its encoder.

    gymkit pretrain --env CartPole-v1 --kind linear --codings 2 --out runs/ae-cartpole
    gymkit pretrain --preset dqn-mspacman-book --kind stacked --observations 20000 --out runs/ae-pacman

Observations come from one env (``--env``, with ``--wrappers``/``--env-kwargs``, or those of
``--preset`` or of ``--policy-run``) played by a policy: uniformly random actions (default,
seeded), or the agent of a trained run (``--policy-run RUN_DIR``, greedy unless
``--explore``). The last ``holdout`` fraction of them (a later stretch of play, not a
shuffled sample, so held-out frames are not near-copies of training frames) measures the
reconstruction error. Training stops early, Keras-style: a seeded random ``validation``
fraction of the training observations is set aside, its reconstruction MSE is measured after
every epoch, the learning rate is halved after every ``patience / 2`` epochs without
improvement, and once ``patience`` epochs in a row bring none the best epoch's weights are
restored (``--epochs`` is only the cap). The ``linear`` kind also reports PCA's optimum
on the same data (an eigendecomposition of the training covariance), the error a linear
autoencoder should reach. The output directory receives:

    encoder.keras        observations -> codings, for agents: encoder=autoencoder@DIR/encoder.keras
    encoder.json         what the encoder was trained on (env, wrappers, settings)
    autoencoder.weights.npz   every variable, decoder included (``saving.load_pretrained(DIR)``)
    pretrain.json        kind, env, policy, held-out and training MSE, a baseline, settings, history
    reconstructions.png  originals beside reconstructions (held-out observations)
    samples.png          variational kind: decoded codings drawn from N(0, I)

Every check (settings, env, policy run, output directory) runs before anything is
written, and the directory appears only when everything is done.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gymkit.config import parse_yaml_option
from gymkit.errors import ConfigError, RunDirError, SpaceError


@dataclass
class PretrainResult:
    """What :func:`pretrain` wrote and measured."""

    out: Path
    info: dict[str, Any]


def check_out_dir(out: str | Path) -> Path:
    """Refuse an output path that is a file or a non-empty directory."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunDirError(f"--out {out} already exists and is not an empty directory: choose another --out")
    return out


def resolve_source(env: str | None, env_kwargs: dict | None, wrappers: Any, preset: str | None,
                   policy_run: str | Path | None) -> tuple[str, dict, list]:
    """The env id, env kwargs and wrappers: the command line over the policy run over the preset."""
    from gymkit.checkpoint import read_run_config, require_run_dir
    from gymkit.config import load_preset

    base: dict[str, Any] = {}
    if preset:
        p = load_preset(preset)
        base = {"env": p.env, "env_kwargs": dict(p.env_kwargs), "wrappers": list(p.wrappers)}
    if policy_run is not None:
        saved = read_run_config(require_run_dir(Path(policy_run)))
        base = {"env": saved["env"], "env_kwargs": saved.get("env_kwargs") or {},
                "wrappers": saved.get("wrappers") or []}
    env_id = env or base.get("env")
    if not env_id:
        raise ConfigError("pretrain needs an env: give --env ENV_ID (or --preset / --policy-run)")
    return (env_id, dict(env_kwargs if env_kwargs is not None else base.get("env_kwargs", {})),
            list(wrappers if wrappers is not None else base.get("wrappers", [])))


def collect_observations(env: Any, count: int, *, seed: int, agent: Any = None,
                         explore: bool = False) -> tuple[np.ndarray, int]:
    """``count`` observations of ``env`` played by ``agent`` (None: random actions), and the
    number of episodes begun. The env is reset with ``seed`` once, then autoreset by hand."""
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    first = np.asarray(obs)
    out = np.empty((count, *first.shape), dtype=first.dtype)
    episodes = 1
    env0 = np.zeros(1, np.int64)
    calls = None
    if agent is not None:
        from gymkit.agents.calls import AgentCalls

        calls = AgentCalls.of(agent)
        calls.episode_start(env0, explore=explore, step=0, stream="evaluation")
    for i in range(count):
        out[i] = obs
        if i == count - 1:
            break
        if agent is None:
            action = env.action_space.sample()
        else:
            mask = info.get("action_mask")
            action = calls.act(np.asarray(obs)[None], explore=explore,
                               action_mask=None if mask is None else np.asarray(mask, bool)[None], env_ids=env0,
                               step=i, stream="evaluation")[0]
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
            episodes += 1
            if calls is not None:
                calls.episode_start(env0, explore=explore, step=i, stream="evaluation")
    return out, episodes


def pretrain(env: str | None = None, kind: str | None = None, *, out: str | Path,
             policy_run: str | Path | None = None, explore: bool = False,
             observations: int = 10_000, codings: int | None = None, epochs: int | None = None,
             overrides: dict[str, Any] | None = None, seed: int = 0, preset: str | None = None,
             wrappers: Any = None, env_kwargs: dict | None = None,
             log: Any = print) -> PretrainResult:
    """Collect observations, train an autoencoder on them and write its encoder to ``out``.

    Args:
        env: env id (default: the policy run's or the preset's).
        kind: linear, stacked, denoising, sparse or variational (or ``overrides["kind"]``).
        out: the output directory (must not exist, or be empty).
        policy_run: a run directory whose agent plays (default: random actions).
        explore: let that agent explore (epsilon-greedy / sampling) instead of acting greedily.
        observations: how many observations to collect (training + held out).
        codings, epochs: shortcuts for ``overrides["codings"]``, ``overrides["epochs"]``.
        overrides: :class:`~gymkit.encoders.autoencoders.AutoencoderConfig` values.
        seed: seeds the env, the random policy, the weights, the minibatches and the noise.
        preset: take the env, env kwargs and wrappers from this preset.
        wrappers, env_kwargs: as in presets (default: the policy run's or the preset's).
        log: where progress lines go (None: nowhere).
    """
    from gymkit.tf_import import tensorflow

    tensorflow()  # quietly, before the autoencoder modules import it
    import gymnasium as gym

    import gymkit  # noqa: F401 - registers gymkit's envs
    from gymkit.encoders.autoencoders import AutoencoderConfig
    from gymkit.envs.factory import make_env

    log = log or (lambda _msg: None)
    out = check_out_dir(out)
    values = dict(overrides or {})
    if kind is not None and values.get("kind", kind) != kind:
        raise ConfigError(f"--kind {kind} and --set kind={values['kind']} disagree: give one of them")
    values.update({k: v for k, v in (("kind", kind), ("codings", codings), ("epochs", epochs))
                   if v is not None})
    config = AutoencoderConfig.from_dict(values)
    n_held = int(round(observations * config.holdout))
    if observations - n_held < 1 or (config.holdout > 0 and n_held < 1):
        raise ConfigError(f"--observations {observations} leaves no training or held-out observations "
                          f"with holdout={config.holdout}: collect more observations")
    env_id, env_kwargs, wrappers = resolve_source(env, env_kwargs, wrappers, preset, policy_run)
    game = make_env(env_id, env_kwargs, wrappers)
    try:
        space = game.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise SpaceError(f"pretrain needs Box observations (vectors or images), but {env_id} has "
                             f"{space}: pick an env with array observations")
        agent = None
        if policy_run is not None:
            from gymkit.evaluation import load_run_agent

            agent = load_run_agent(Path(policy_run))
            if agent.observation_space != space or agent.action_space != game.action_space:
                raise SpaceError(f"the agent of {policy_run} acts on {agent.observation_space}, not on "
                                 f"this env's {space}: use the env and wrappers it was trained with")
        from gymkit.encoders.autoencoders.models import resolve_settings

        resolve_settings(space, config)  # refuses impossible settings before any work
        start = time.perf_counter()
        data, episodes = collect_observations(game, observations, seed=seed, agent=agent, explore=explore)
    finally:
        game.close()
    log(f"collected {len(data)} observations of shape {data.shape[1:]} {data.dtype} "
        f"in {episodes} episodes ({time.perf_counter() - start:.1f} s)")
    policy = {"policy": "random"} if agent is None else {"policy": "run", "run": str(policy_run),
                                                         "explore": bool(explore)}
    source = {"env": env_id, "env_kwargs": env_kwargs, "wrappers": wrappers, **policy}
    tmp = out.parent / f".tmp-{out.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        info = _train_and_write(space, config, data, n_held, seed, episodes, source, tmp, log)
        out.mkdir(parents=True, exist_ok=True)
        out.rmdir()  # empty (checked above): replace it with the finished directory
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PretrainResult(out, info)


def _train_and_write(space: Any, config: Any, data: np.ndarray, n_held: int, seed: int, episodes: int,
                     source: dict[str, Any], folder: Path, log: Any) -> dict[str, Any]:
    import keras

    from gymkit.checkpoint import write_json_atomic
    from gymkit.encoders.autoencoders.models import build_autoencoder
    from gymkit.encoders.autoencoders.pictures import save_reconstructions, save_samples
    from gymkit.encoders.autoencoders.saving import save_autoencoder_weights, save_encoder
    from gymkit.encoders.autoencoders.training import reconstruct, train_autoencoder
    from gymkit.run_config import versions

    keras.utils.set_random_seed(seed)
    train, held = (data[:len(data) - n_held], data[len(data) - n_held:]) if n_held else (data, data[:0])
    validation = config.validation if config.validation is not None else 0.0 if config.kind == "linear" else 0.1
    n_val = int(round(len(train) * validation))
    # a random sample, unlike the held-out stretch: it watches convergence on the fitted distribution
    val_rows = np.zeros(len(train), bool)
    val_rows[np.random.default_rng([seed, 1]).choice(len(train), n_val, replace=False)] = True
    fit, val = train[~val_rows], train[val_rows]
    ae = build_autoencoder(space, config, seed=seed, observations=train)
    start = time.perf_counter()
    history = train_autoencoder(ae, fit, validation=val, seed=seed, log=log)
    wall = time.perf_counter() - start
    check = held if len(held) else train
    x0, rebuilt = reconstruct(ae, check)
    mse = float(np.mean(np.square(rebuilt.astype(np.float64) - x0)))
    kept = [row for row in history if row["best"]]
    stopping = {"patience": config.patience, "cap": config.epochs, "validation": len(val),
                "best_epochs": [{"phase": r["phase"], "epoch": r["epoch"], "val_mse": r["val_mse"]} for r in kept],
                "epochs_run": len(history)}
    sample = train[np.random.default_rng(seed).choice(len(train), min(len(train), 2000), replace=False)]
    x0_train, rebuilt_train = reconstruct(ae, sample)
    train_mse = float(np.mean(np.square(rebuilt_train.astype(np.float64) - x0_train)))
    # The error of always answering the mean training input: what an autoencoder must beat.
    baseline = float(np.mean(np.square(x0 - x0_train.mean(axis=0, keepdims=True))))
    units = ("pixels scaled to [0, 1]" if ae.settings["observation_dtype"] == "uint8" else
             "standardised inputs" if ae.settings["standardize"] else "observation units")
    info = {
        "kind": config.kind, **source, "seed": seed,
        "observations": {"train": len(train), "validation": len(val), "held_out": len(held),
                         "episodes": episodes, "shape": list(data.shape[1:]), "dtype": data.dtype.name},
        "reconstruction_mse": {"held_out": mse if len(held) else None, "train": train_mse,
                               "mean_input_baseline": baseline, "units": units},
        "early_stopping": stopping,
        "settings": ae.settings, "config": config.to_dict(), "history": history,
        "train_seconds": round(wall, 1), "versions": versions(),
    }
    save_encoder(ae.encoder, folder / "encoder.keras",
                 {"kind": config.kind, **source, "settings": ae.settings,
                  "reconstruction_mse_held_out": info["reconstruction_mse"]["held_out"]})
    save_autoencoder_weights(ae, folder / "autoencoder.weights.npz")
    which = "held-out" if len(held) else "training"
    title = f"{config.kind} autoencoder on {source['env']}\n{which} MSE {mse:.4g} ({units})"
    save_reconstructions(x0, rebuilt, folder / "reconstructions.png", ae.settings, title)
    if ae.gamma_layer is not None:
        codings = np.random.default_rng(seed + 1).standard_normal((24, ae.settings["codings"]))
        samples = np.asarray(ae.decoder(codings.astype(np.float32)))
        save_samples(samples, folder / "samples.png", ae.settings,
                     f"variational autoencoder on {source['env']}: decoded codings ~ N(0, I)")
    if config.kind == "linear":
        from gymkit.encoders.autoencoders.pca import pca_optimum

        x0_fit, rebuilt_fit = reconstruct(ae, fit)
        k = int(ae.settings["codings"])
        info["reconstruction_mse"]["pca_optimum"] = pca_optimum(x0_fit, x0, k)
        # on the observations both were fitted to, PCA is the optimum no linear map can beat
        info["reconstruction_mse"]["fitted"] = float(np.mean(np.square(rebuilt_fit.astype(np.float64) - x0_fit)))
        info["reconstruction_mse"]["pca_optimum_fitted"] = pca_optimum(x0_fit, x0_fit, k)
    write_json_atomic(folder / "pretrain.json", info)
    log(f"{which} reconstruction MSE {mse:.5g} ({units}; training {train_mse:.5g}, "
        f"mean-input baseline {baseline:.5g}); trained in {wall:.1f} s, best epoch "
        + ", ".join(str(r["epoch"]) for r in kept) + f" of {len(history)} run")
    pca = info["reconstruction_mse"].get("pca_optimum")
    if pca:
        fitted = info["reconstruction_mse"]
        log(f"PCA with {ae.settings['codings']} components on the same data: {which} MSE {pca:.5g} "
            f"(this autoencoder: {mse / pca:.3f}x); on the fitted observations "
            f"{fitted['pca_optimum_fitted']:.5g} (this autoencoder: "
            f"{fitted['fitted'] / fitted['pca_optimum_fitted']:.3f}x the optimum)")
    return info


def run_command(args: Any) -> int:
    """``gymkit pretrain`` with parsed arguments (see :func:`gymkit.cli.build_parser`)."""
    from gymkit.config import parse_set

    result = pretrain(
        args.env, args.kind, out=args.out, policy_run=args.policy_run, explore=args.explore,
        observations=args.observations, codings=args.codings, epochs=args.epochs,
        overrides=parse_set(args.overrides), seed=args.seed, preset=args.preset,
        wrappers=parse_yaml_option("--wrappers", args.wrappers, list),
        env_kwargs=parse_yaml_option("--env-kwargs", args.env_kwargs, dict),
    )
    print(f"encoder written to {result.out / 'encoder.keras'}; agents load it with "
          f"--set encoder=autoencoder@{result.out / 'encoder.keras'}")
    return 0
