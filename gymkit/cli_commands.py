"""The handlers of ``gymkit`` sub-commands that only call into one module each: list,
check-env, plot, compare, sweep, pretrain, upgrade-run and figure (the parser that wires
them up, and train/evaluate, live in :mod:`gymkit.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gymkit.errors import GymkitError


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gymkit.config import list_presets
    from gymkit.envs import list_envs
    from gymkit.registry import list_agents, resolve_agent

    console = Console(width=max(Console().width, 100))
    if args.agent:
        from gymkit.agents.base import config_class

        config_cls = config_class(resolve_agent(args.agent))
        table = Table(title=f"config of '{args.agent}' ({config_cls.__name__})")
        for col in ("key", "default", "meaning"):
            table.add_column(col)
        for name, default, help_text in config_cls.describe():
            table.add_row(name, repr(default), help_text)
        console.print(table)
        return 0
    for title, columns, rows in (
            ("agents", ("name", "description"), list_agents().items()),
            ("presets", ("name", "agent", "env", "description"),
             [(n, p.agent, p.env or "", p.description) for n, p in list_presets().items()]),
            ("envs gymkit registers", ("id", "description"), list_envs().items())):
        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    return 0


def cmd_check_env(args: argparse.Namespace) -> int:
    import warnings

    from gymnasium.utils.env_checker import check_env

    from gymkit.envs.factory import make_env

    env = make_env(args.env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check_env(env.unwrapped, skip_render_check=True)
        except (AssertionError, Exception) as exc:  # noqa: BLE001 - report any failure in words
            print(f"{args.env_id}: FAILS Gymnasium's env checker: {exc}")
            return 1
        finally:
            env.close()
    notes = sorted({str(w.message).replace("\x1b[33m", "").replace("\x1b[0m", "") for w in caught})
    print(f"{args.env_id}: passes Gymnasium's env checker" + (f" with {len(notes)} warning(s):" if notes else ""))
    for note in notes:
        print(f"  - {note}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from gymkit.plot import plot_runs, save_plot

    fig = plot_runs(args.run_dirs, band=args.band, title=args.title, y=args.y)
    print(f"learning curves written to {save_plot(fig, args.out)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from gymkit.compare import compare_runs, format_rows

    out = format_rows(compare_runs(args.run_dirs), args.format)
    if isinstance(out, str):
        sys.stdout.write(out)
    else:
        from rich.console import Console

        Console(width=max(Console().width, 120)).print(out)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from gymkit.sweep import require_ray

    require_ray()  # one line with the install command when Ray is missing
    from gymkit.sweep import run_sweep

    result = run_sweep(
        args.agent, args.env, args.space, sweep_dir=args.dir, seeds=args.seeds, samples=args.samples,
        scheduler=args.scheduler, address=args.address, num_cpus=args.num_cpus, num_gpus=args.num_gpus,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent, max_failures=args.max_failures,
        search_seed=args.search_seed, grace_period=args.grace_period,
        command="gymkit " + " ".join(sys.argv[1:]),
    )
    return 0 if result.best is not None else 1


def cmd_pretrain(args: argparse.Namespace) -> int:
    from gymkit.pretrain import run_command

    return run_command(args)


def cmd_upgrade_run(args: argparse.Namespace) -> int:
    from gymkit.upgrade import upgrade_run

    converted = upgrade_run(args.run_dir, trust=args.trust)
    if converted:
        print(f"upgraded {args.run_dir} to format version 2 (spaces.pkl -> spaces.json) in "
              f"{len(converted)} folder(s): {', '.join(str(f.relative_to(args.run_dir)) for f in converted)}")
    else:
        print(f"{args.run_dir} is already format version 2: nothing to convert")
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    from gymkit.wrappers.mspacman import save_preprocessing_figure

    out = Path(args.out)
    if out.exists() and not args.force:
        raise GymkitError(f"{out} exists: choose another --out, or pass --force to replace it")
    path = save_preprocessing_figure(out, seed=args.seed)
    print(f"Figure 16-9 (original frame beside the preprocessed one) written to {path}")
    return 0
