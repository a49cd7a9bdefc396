"""The ``gymkit`` command: train, evaluate, list, check-env, upgrade-run, and the picture commands.

Bad input ends with one line on stderr naming the problem and the fix, exit code 2, and
nothing written: every check runs before a run directory is created. Every such error is a
:class:`~gymkit.errors.GymkitError` (a refused run directory, a plugin that raised, ...);
``--debug`` (train, evaluate, pretrain, sweep, upgrade-run) prints its full traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from gymkit.argtypes import non_negative_int, positive_int
from gymkit.cli_commands import (
    cmd_check_env,
    cmd_compare,
    cmd_figure,
    cmd_list,
    cmd_plot,
    cmd_pretrain,
    cmd_sweep,
    cmd_upgrade_run,
)
from gymkit.errors import GymkitError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    from gymkit.run_config import add_run_arguments

    p.add_argument("--agent", help="agent name (see `gymkit list`) or module:Class")
    p.add_argument("--env", help="Gymnasium env id, e.g. CartPole-v1 or gymkit/BookMDP-v0")
    p.add_argument("--preset", help="preset name (see `gymkit list`) or path to a preset .yaml")
    p.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                   help="override an agent config value (repeatable)")
    add_run_arguments(p)  # every RunSpec setting: its flag, help and type come from its declaration
    p.add_argument("--run-dir", help="where to write the run (default runs/AGENT_ENV_sSEED_TIME)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir from its latest checkpoint")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="force the progress bar on")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def add_debug_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true",
                   help="on an error, print the full traceback instead of one line")


def add_wandb_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wandb", action="store_true",
                   help="also log to Weights & Biases (offline, with a sync hint, when there is no key or network)")
    p.add_argument("--wandb-project", metavar="NAME", help="wandb project (default gymkit)")
    p.add_argument("--wandb-entity", metavar="NAME", help="wandb entity (user or team)")
    p.add_argument("--wandb-group", metavar="NAME", help="wandb group, e.g. one configuration trained with several seeds")
    p.add_argument("--wandb-tags", metavar="A,B", help="comma-separated wandb tags")
    p.add_argument("--wandb-mode", choices=["online", "offline", "disabled"],
                   help="wandb mode (default $WANDB_MODE, else online; online falls back to offline)")


def _wandb_sink(args: argparse.Namespace, run_dir: str | Path | None, job_type: str):
    """The wandb sink the options ask for, or None (checked before anything is written)."""
    if not args.wandb:
        return None
    from gymkit.tracking import make_wandb_sink

    tags = [t.strip() for t in (args.wandb_tags or "").split(",") if t.strip()]
    return make_wandb_sink(run_dir, project=args.wandb_project, entity=args.wandb_entity,
                           group=args.wandb_group, tags=tags, mode=args.wandb_mode, job_type=job_type)


def default_run_dir(agent: str, env: str, seed: int) -> Path:
    from gymkit.checkpoint import timestamped_dir

    return timestamped_dir("runs", f"{agent}_{env}_s{seed}")


def cmd_train(args: argparse.Namespace) -> int:
    from gymkit.config import load_preset, parse_set
    from gymkit.loop import train
    from gymkit.run_config import resume_refused, settings_from_args

    overrides = parse_set(args.overrides)
    run_dir = args.run_dir
    if run_dir is None and not args.resume:
        agent = args.agent or (load_preset(args.preset).agent if args.preset else "agent")
        env = args.env or (load_preset(args.preset).env if args.preset else None) or "env"
        run_dir = default_run_dir(agent.split(":")[-1], env, args.seed or 0)
    if args.resume:
        named = (("--agent", args.agent), ("--env", args.env), ("--preset", args.preset), ("--set", args.overrides))
        fixed = [flag for flag, value in named if value not in (None, [])]
        fixed += resume_refused({k: v for k, v in vars(args).items()})
        if fixed:
            raise GymkitError(f"--resume continues a run exactly as it was configured: drop {', '.join(fixed)} "
                              "(only --steps or --episodes may extend it)")
    settings = settings_from_args(args)
    sink = _wandb_sink(args, run_dir, "train")
    result = train(args.agent, args.env, preset=args.preset, config=overrides or None, run_dir=run_dir,
                   resume=args.resume, progress=args.progress, sinks=(sink,) if sink else (), **settings)
    print(f"trained {result.steps} steps, {result.episodes} episodes in {result.wall_time_s:.1f} s"
          + (f"; recent mean return {result.recent_mean_return:.2f}" if result.recent_mean_return is not None else "")
          + ("; stopped: a periodic evaluation reached --stop-at-eval" if result.stopped_by.value == "stop_at_eval"
             else ""))
    summary = (result.best_agent or result.agent).summary()
    if summary:
        print(summary)
    for line in report_lines(result):
        print(line)
    print(f"run directory: {result.run_dir}")
    if result.stopped_by_signal is not None:  # interrupted: say so in the exit code too
        return 128 + int(result.stopped_by_signal)
    return 0


def report_lines(result) -> list[str]:
    """The final report: the final agent and, with --keep-best, the best one, each scored on
    fresh episodes (the final evaluation's stream, never the periodic ones that chose best)."""
    lines = []
    if result.evaluation is not None:
        lines.append(f"final agent (step {result.steps}): {result.evaluation.line()}")
    if result.best_evaluation is not None:
        b = result.best_evaluation
        lines.append(f"best agent (step {b.step}, chosen by a periodic evaluation mean of "
                     f"{result.best_selection_mean:.2f}; scored here on fresh episodes): {b.line()}")
        lines.append("the run hands back the best agent, RUN_DIR/best/ (gymkit evaluate uses it by default)")
    return lines


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gymkit.evaluation import BEST_EVAL_FILE, EVAL_FILE, evaluate_run, load_run_agent

    sink = _wandb_sink(args, args.run_dir, "evaluate")
    stats = evaluate_run(args.run_dir, episodes=args.episodes, seed=args.seed, env=args.env,
                         video_dir=args.video, video_format=args.video_format, agent=args.agent)
    summary = load_run_agent(Path(args.run_dir), stats.agent).summary() if args.show else None
    if summary:
        print(summary)
    print(f"{stats.agent} agent (step {stats.step}): {stats.line()}" if stats.agent == "best"
          else stats.line())
    print(f"written to {Path(args.run_dir) / (BEST_EVAL_FILE if stats.agent == 'best' else EVAL_FILE)}")
    videos = []
    if args.video:
        from gymkit.video import video_paths

        videos = video_paths(args.video, args.video_format, stats.episodes)
        print(f"videos: {', '.join(str(v) for v in videos)}")
    if sink is not None:
        sink.log_evaluation(stats, videos)
        sink.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gymkit", description="Reinforcement-learning agents on Gymnasium and TensorFlow 2.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("train", help="train an agent and write a run directory")
    add_train_arguments(p)
    add_wandb_arguments(p)
    add_debug_argument(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="play greedy episodes with a saved run's agent")
    p.add_argument("run_dir", help="a run directory written by `gymkit train`")
    p.add_argument("--episodes", type=positive_int, help="episodes to play (default: the run's eval_episodes)")
    p.add_argument("--seed", type=non_negative_int, help="env seed (default: the run's seed + 1)")
    p.add_argument("--show", action="store_true", help="also print what the agent learnt (tables, arrows)")
    p.add_argument("--agent", choices=["best", "final"],
                   help="which agent plays: final (agent/) or best (best/, kept by --keep-best); "
                        "default: best when the run kept one, else final")
    p.add_argument("--env", help="evaluate on this env id instead of the run's (its spaces must match)")
    p.add_argument("--video", metavar="DIR", help="record the greedy episodes to DIR (eval-episode-K.mp4/.gif)")
    p.add_argument("--video-format", choices=["mp4", "gif"], default="mp4", help="video format (default mp4)")
    add_wandb_arguments(p)
    add_debug_argument(p)
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("list", help="list agents, presets and envs")
    p.add_argument("--agent", help="show this agent's config keys instead")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("figure", help="draw the book's Figure 16-9: a Ms. Pac-Man frame beside its preprocessed version")
    p.add_argument("name", choices=["mspacman-preprocessing"], help="which figure")
    p.add_argument("--out", default="figure_16_9.png", help="PNG file to write (default figure_16_9.png)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="env seed")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_figure)
    p = sub.add_parser("check-env", help="run Gymnasium's env checker on an env id")
    p.add_argument("env_id")
    p.set_defaults(func=cmd_check_env)
    p = sub.add_parser("plot", help="learning curves of runs (seeds of one configuration as mean and band)")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", metavar="FILE.png", default="learning_curves.png", help="image file (default learning_curves.png)")
    p.add_argument("--band", choices=["minmax", "std", "none"], default="minmax",
                   help="spread across seeds (default minmax)")
    p.add_argument("--title", help="figure title (default: the env ids)")
    p.add_argument("--y", choices=["return", "eval"], default="return",
                   help="return: training episodes' recent mean return (default); eval: the periodic "
                        "evaluations' mean return (runs trained with --eval-every)")
    p.set_defaults(func=cmd_plot)
    p = sub.add_parser("compare", help="a table of runs: agent, env, steps, seed, evaluation, wall time")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--format", choices=["table", "markdown", "csv"], default="table", help="output format")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("sweep", help="hyperparameter search / many seeds on Ray Tune; writes the best preset")
    p.add_argument("--agent", help="agent name (default: the space file's)")
    p.add_argument("--env", help="env id (default: the space file's)")
    p.add_argument("--space", required=True, metavar="SPACE.yaml", help="search space (see docs/sweep.md)")
    p.add_argument("--seeds", type=positive_int, default=1, help="run each configuration with seeds 0..N-1 (default 1)")
    p.add_argument("--samples", type=positive_int, default=1, help="random draws per grid point (default 1)")
    p.add_argument("--scheduler", choices=["fifo", "asha"], default="fifo",
                   help="fifo: every trial runs its budget (default); asha: stop poor trials early")
    p.add_argument("--grace-period", type=positive_int, help="asha: first rung, in steps or episodes (default budget/4)")
    p.add_argument("--address", help="join a Ray cluster: auto (on a node) or ray://HOST:10001 (default: local Ray)")
    p.add_argument("--num-cpus", type=positive_int, help="CPUs of the local Ray (default: all)")
    p.add_argument("--num-gpus", type=non_negative_int, help="GPUs of the local Ray (default: detected)")
    p.add_argument("--cpus-per-trial", type=float, default=1, help="CPUs reserved per trial (default 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0, help="GPUs reserved per trial (default 0)")
    p.add_argument("--max-concurrent", type=positive_int, help="at most N trials at once (default: as resources allow)")
    p.add_argument("--max-failures", type=non_negative_int, default=2,
                   help="retries of a failed trial, resuming from its checkpoint (default 2)")
    p.add_argument("--search-seed", type=non_negative_int, default=0, help="seed of the configuration sampling (default 0)")
    p.add_argument("--dir", help="sweep directory (default sweeps/AGENT_ENV_TIME)")
    add_debug_argument(p)
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("pretrain", help="train an autoencoder on an env's observations; write an encoder for agents")
    p.add_argument("--env", help="env id (default: the --preset's or the --policy-run's)")
    p.add_argument("--kind", required=True, choices=["linear", "stacked", "denoising", "sparse", "variational"],
                   help="autoencoder kind (chapter 15)")
    policy = p.add_mutually_exclusive_group()
    policy.add_argument("--policy", choices=["random"], default="random", help="who plays: random actions (default)")
    policy.add_argument("--policy-run", metavar="RUN_DIR", help="or the agent of a trained run (greedy unless --explore)")
    p.add_argument("--explore", action="store_true", help="let the --policy-run agent explore as in training")
    p.add_argument("--observations", type=positive_int, default=10_000, help="observations to collect (default 10000)")
    p.add_argument("--codings", type=positive_int, help="units of the coding layer (default: half the inputs; 512 for images)")
    p.add_argument("--epochs", type=positive_int, help="the most training epochs (default 500; early stopping, --set patience=N, usually ends sooner)")
    p.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                   help="an autoencoder setting, e.g. tied_weights=true (see docs/autoencoders.md)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--preset", help="take the env, env kwargs and wrappers from this preset")
    p.add_argument("--wrappers", metavar="YAML", help="wrappers as in presets, e.g. '[{skip-start: {skip_start: 90}}, mspacman]'")
    p.add_argument("--env-kwargs", metavar="YAML", help="gymnasium.make keyword arguments, e.g. '{frameskip: 1}'")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (must not exist or be empty)")
    add_debug_argument(p)
    p.set_defaults(func=cmd_pretrain)
    p = sub.add_parser("upgrade-run", help="convert a run directory of format version 1 (spaces.pkl) to "
                                           "format 2 (spaces.json), in place; only for directories you trust")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory to convert")
    p.add_argument("--trust", action="store_true",
                   help="you trust where RUN_DIR came from: its spaces.pkl pickles are read once to convert them")
    add_debug_argument(p)
    p.set_defaults(func=cmd_upgrade_run)
    from gymkit.regress import add_parser as add_regress_parser

    add_regress_parser(sub, positive_int, non_negative_int)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GymkitError as exc:
        if getattr(args, "debug", False):  # the whole story, the plugin's own frames included
            traceback.print_exception(exc)
        else:
            sys.stderr.write("gymkit: error: " + " ".join(str(exc).split()) + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("gymkit: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
