"""Weights & Biases tracking: a metrics sink for :func:`gymkit.train` that never blocks a run.

``make_wandb_sink`` decides, before anything is written, how the run can be tracked:

- ``mode="online"`` (the default) with an API key and a reachable server: an online run;
- no API key, or the server unreachable within a few seconds, or ``wandb.init`` failing:
  an *offline* run, its files under ``RUN_DIR/wandb/``, and one line saying how to upload
  it later (``wandb sync RUN_DIR/wandb/offline-run-...``);
- ``mode="disabled"``: no sink at all.

The sink opens its wandb run lazily, at the first metrics row, because ``train`` refuses a
run directory that already holds anything and writes ``config.yaml`` first; the wandb
config is that file's content. Rows, per-episode events and evaluation events arrive
through ``write(row, step)``, the same values TensorBoard receives.

Per-episode events cost about 0.4 ms each in wandb (measured here, 2-core CPU), so when
episodes end faster than :data:`EPISODE_EVENTS_PER_S` a second (fast envs such as
CartPole) they are thinned to that rate; metric rows (which hold ``return_mean``) and
evaluation events are never thinned.
"""

from __future__ import annotations

import math
import netrc
import os
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from gymkit.errors import GymkitError

INSTALL_HINT = "pip install 'gymkit[track]'"
MODES = ("online", "offline", "disabled")
PROBE_TIMEOUT_S = 3.0  # how long to wait for the wandb server before going offline
INIT_TIMEOUT_S = 30.0  # wandb.init's own limit (wandb's default is 90 s)
EPISODE_EVENTS_PER_S = 50.0


def import_wandb() -> Any:
    """``import wandb``, or a :class:`GymkitError` naming the install command."""
    try:
        import wandb
    except ImportError:
        raise GymkitError(f"--wandb needs the wandb package, which is not installed: {INSTALL_HINT}") from None
    return wandb


def _has_api_key(host: str) -> bool:
    """Whether wandb would find credentials without prompting (env vars or ~/.netrc)."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def _reachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the server opens within ``timeout`` (DNS included)."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((parsed.hostname or "", port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # getaddrinfo ignores socket timeouts, so the probe runs in a thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


class WandbSink:
    """A metrics sink (``write(row, step)``, ``close()``) that logs to a wandb run.

    Args:
        run_dir: the run directory; wandb's files go to ``RUN_DIR/wandb/``.
        init_kwargs: keyword arguments for ``wandb.init`` (project, entity, group, tags, ...).
        mode: ``"online"`` or ``"offline"``; an online start that fails falls back to offline.
        reason: why the run is offline (printed with the sync hint), if it is.
        config: the wandb config (default: ``RUN_DIR/config.yaml`` when the run opens).
    """

    def __init__(self, run_dir: str | Path, init_kwargs: dict[str, Any], mode: str,
                 reason: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.init_kwargs = dict(init_kwargs)
        self.mode = mode
        self.reason = reason
        self.config = dict(config) if config is not None else None
        self.run: Any = None
        self._tokens, self._last = EPISODE_EVENTS_PER_S, time.monotonic()
        self.thinned = 0  # episode events not sent to wandb
        self.broken: str | None = None  # why logging stopped, if a wandb call failed

    def _safely(self, what: str, call: Any) -> Any:
        """Run a wandb call; if it raises, say so once and stop logging: training goes on."""
        if self.broken is not None:
            return None
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - tracking must never end a run
            self.broken = f"{what} failed ({type(exc).__name__}: {exc})"
            print(f"wandb: {self.broken}; the run goes on without wandb", file=sys.stderr)
            return None

    # -- opening -----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        if self.config is not None:
            return self.config
        from gymkit.checkpoint import CONFIG_FILE, read_run_config

        return read_run_config(self.run_dir) if (self.run_dir / CONFIG_FILE).exists() else {}

    def open(self) -> Any:
        """Start the wandb run (once); an online start that fails goes offline instead."""
        if self.run is not None:
            return self.run
        wandb = import_wandb()
        (self.run_dir / "wandb").mkdir(parents=True, exist_ok=True)
        kwargs = {"dir": str(self.run_dir), "config": self._config(),
                  "name": self.run_dir.name, **self.init_kwargs}
        # console="off": wandb would otherwise wrap stdout/stderr under the progress bar.
        settings = wandb.Settings(init_timeout=INIT_TIMEOUT_S, silent=True, console="off")
        if self.mode == "online":
            try:
                self.run = wandb.init(mode="online", settings=settings, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any failure to go online means offline
                self.mode, self.reason = "offline", f"the online start failed: {type(exc).__name__}"
        if self.run is None:
            self.run = wandb.init(mode="offline", settings=settings, **kwargs)
            print(f"wandb: offline run ({self.reason or 'offline mode'}); upload it later with: "
                  f"wandb sync {self.run.settings.sync_dir}", file=sys.stderr)
        else:
            print(f"wandb: logging to {self.run.url}", file=sys.stderr)
        return self.run

    # -- the sink interface ------------------------------------------------------------------

    def _allow_episode_event(self) -> bool:
        """Token bucket: at most EPISODE_EVENTS_PER_S per second on average (bursts of as many)."""
        now = time.monotonic()
        self._tokens = min(EPISODE_EVENTS_PER_S, self._tokens + (now - self._last) * EPISODE_EVENTS_PER_S)
        self._last = now
        if self._tokens < 1.0:
            self.thinned += 1
            return False
        self._tokens -= 1.0
        return True

    def write(self, row: Mapping[str, Any], step: int) -> None:
        """Log the numeric, finite values of ``row`` at env step ``step``."""
        values = {k: float(v) for k, v in row.items()
                  if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)
                  and math.isfinite(float(v))}
        if not values:
            return
        if all(k.startswith("episode/") for k in values) and not self._allow_episode_event():
            return
        self._safely("logging", lambda: self._log(values, int(step)))

    def _log(self, values: dict[str, float], step: int) -> None:
        run = self.open()
        run.log(values, step=step)
        if any(k.startswith("eval/") for k in values):
            run.summary.update({k: v for k, v in values.items() if k.startswith("eval/")})

    def log_evaluation(self, stats: Any, videos: list[Path] | tuple[Path, ...] = (), step: int | None = None) -> None:
        """Log an :class:`~gymkit.evaluation.EvalStats` (summary and returns table) and videos."""
        wandb = import_wandb()

        def log() -> None:
            data: dict[str, Any] = {f"eval/{k}": getattr(stats, k) for k in ("mean", "std", "min", "max")}
            data["eval/returns"] = wandb.Table(
                columns=["episode", "return", "length"],
                data=[[i, r, n] for i, (r, n) in enumerate(zip(stats.returns, stats.lengths, strict=True))])
            for path in map(Path, videos):
                data[f"video/{path.stem}"] = wandb.Video(str(path), format=path.suffix.lstrip("."))
            run = self.open()
            run.log(data, step=step)
            run.summary.update({f"eval/{k}": getattr(stats, k) for k in ("mean", "std", "min", "max")})

        self._safely("logging the evaluation", log)

    def close(self) -> None:
        """Record the run's summary.json and evaluation.json in the wandb summary, then finish."""
        if self.run is not None:
            self._safely("finishing", self._finish)
        self.run = None

    def _finish(self) -> None:
        import json

        for name in ("summary.json", "evaluation.json"):
            path = self.run_dir / name
            if path.exists():
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    continue
                prefix = "" if name == "summary.json" else "eval/"
                self.run.summary.update({f"{prefix}{k}": v for k, v in data.items()
                                         if isinstance(v, int | float | bool | str | type(None))})
        if self.thinned:
            self.run.summary["episode_events_thinned"] = self.thinned
        self.run.finish()


def make_wandb_sink(
    run_dir: str | Path,
    spec_dict: Mapping[str, Any] | None = None,
    *,
    project: str | None = None,
    entity: str | None = None,
    group: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    mode: str | None = None,
    job_type: str = "train",
) -> WandbSink | None:
    """A wandb sink for ``train(..., sinks=(sink,))``, or None for ``mode="disabled"``.

    Nothing is written here (the run directory may not exist yet): this checks that wandb
    is installed and decides between online and offline without waiting on the network
    for more than :data:`PROBE_TIMEOUT_S` seconds.

    Args:
        run_dir: the run directory (wandb's files go to ``RUN_DIR/wandb/``).
        spec_dict: the wandb config; default the run's ``config.yaml``, read when it opens.
        project: wandb project (default ``"gymkit"``).
        entity: wandb entity (user or team).
        group: wandb group (e.g. one configuration run with several seeds).
        tags: wandb tags.
        mode: ``"online"``, ``"offline"`` or ``"disabled"`` (default: ``$WANDB_MODE``, else online).
        job_type: ``"train"`` or ``"evaluate"``.

    Raises:
        GymkitError: wandb is not installed, or the mode is unknown.
    """
    mode = mode or {"dryrun": "offline", "run": "online"}.get(os.environ.get("WANDB_MODE", ""),
                                                             os.environ.get("WANDB_MODE") or "online")
    if mode not in MODES:
        raise GymkitError(f"--wandb-mode {mode!r} is not one of {', '.join(MODES)}: pick one of them")
    if mode == "disabled":
        return None
    wandb = import_wandb()
    init_kwargs = {"project": project or os.environ.get("WANDB_PROJECT") or "gymkit",
                   "entity": entity, "group": group, "job_type": job_type,
                   "tags": list(tags) if tags else None}
    reason = None
    if mode == "online":
        # wandb.Settings() alone does not read the environment; wandb.setup() would, but it
        # starts wandb's service process, which a run that goes offline must not wait for.
        base_url = os.environ.get("WANDB_BASE_URL") or wandb.Settings().base_url
        host = urlparse(base_url).hostname or base_url
        if not _has_api_key(host):
            mode, reason = "offline", "no API key: run `wandb login` to go online"
        elif not _reachable(base_url):
            mode, reason = "offline", f"{host} not reachable"
    return WandbSink(run_dir, init_kwargs, mode, reason, spec_dict)
