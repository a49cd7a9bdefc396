"""Logger.write(dict): one call fans metrics out to CSV, TensorBoard, the console and wandb.

``metrics.csv`` holds only values that a rerun with the same seed reproduces exactly (no
wall-clock time), so two runs can be compared byte for byte; timings go to TensorBoard
and the progress bar. TensorBoard event files are written with the ``tensorboard``
package's own writer, which does not import TensorFlow, so the random and tabular agents
stay TensorFlow-free.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: keys whose values depend on the wall clock: never written to metrics.csv
TIMING_KEYS = frozenset({"time/elapsed_s", "time/steps_per_s"})


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


class CSVWriter:
    """Append rows to a CSV whose header grows when new keys appear (the file is rewritten)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fields: list[str] = []
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, newline="", encoding="utf-8") as fh:
                self.fields = next(csv.reader(fh), [])

    def write(self, row: Mapping[str, Any]) -> None:
        row = {k: v for k, v in row.items() if k not in TIMING_KEYS}
        new = [k for k in row if k not in self.fields]
        if new:
            self._rewrite(self.fields + sorted(new))
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([_format(row.get(k, "")) for k in self.fields])

    def _rewrite(self, fields: list[str]) -> None:
        old_rows: list[dict[str, str]] = []
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, newline="", encoding="utf-8") as fh:
                old_rows = list(csv.DictReader(fh))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n")
        writer.writeheader()
        for r in old_rows:
            writer.writerow({k: r.get(k, "") for k in fields})
        tmp = self.path.with_suffix(".csv.tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
        os.replace(tmp, self.path)
        self.fields = fields

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (used when a run resumes from a checkpoint)."""
        if not self.path.exists() or "step" not in self.fields:
            return
        with open(self.path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        keep = [r for r in rows if r.get("step", "") != "" and int(float(r["step"])) <= step]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.fields, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(keep)
        tmp = self.path.with_suffix(".csv.tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
        os.replace(tmp, self.path)


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated and offset ("masked")."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class TensorBoardWriter:
    """Scalar summaries in TensorBoard's event-file format, without importing TensorFlow.

    An event file is a TFRecord file of serialized ``Event`` protos: for each record,
    the length (uint64), its masked CRC-32C, the bytes, and their masked CRC-32C.
    """

    def __init__(self, logdir: Path) -> None:
        import socket

        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        self._Event, self._Summary = Event, Summary
        logdir = Path(logdir)
        logdir.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.gymkit"
        self._fh = open(logdir / name, "ab")
        self._record(self._Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _record(self, event: Any) -> None:
        import struct

        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self._fh.write(header + struct.pack("<I", _masked_crc32c(header)) + data
                       + struct.pack("<I", _masked_crc32c(data)))

    def write(self, row: Mapping[str, Any], step: int) -> None:
        values = [
            self._Summary.Value(tag=k, simple_value=float(v))
            for k, v in row.items()
            if k != "step" and isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if values:
            self._record(self._Event(wall_time=time.time(), step=int(step),
                                     summary=self._Summary(value=values)))

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


class Progress:
    """A live progress bar (steps, steps/s, recent mean return, ETA) on a terminal; silent otherwise."""

    def __init__(self, total: int, unit: str, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
            TextColumn("{task.fields[speed]} steps/s"), TextColumn("return {task.fields[ret]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False, refresh_per_second=4,
        )
        self._task = self._bar.add_task("train", total=total, speed="-", ret="-")
        self._bar.start()

    def update(self, done: int, speed: float, mean_return: float | None) -> None:
        if self._bar is None:
            return
        ret = "-" if mean_return is None else f"{mean_return:.1f}"
        self._bar.update(self._task, completed=done, speed=f"{speed:,.0f}", ret=ret)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class Logger:
    """``Logger.write(dict)``: every sink gets the same metrics.

    Args:
        run_dir: where ``metrics.csv`` and the TensorBoard events go (None: console only).
        extra_sinks: objects with ``write(row, step)`` and ``close()`` (e.g. a wandb sink).
    """

    def __init__(self, run_dir: Path | None, extra_sinks: Iterable[Any] = ()) -> None:
        self.csv = CSVWriter(run_dir / "metrics.csv") if run_dir else None
        self.tb = TensorBoardWriter(run_dir / "tb") if run_dir else None
        self.sinks = list(extra_sinks)

    def write(self, row: Mapping[str, Any]) -> None:
        step = int(row.get("step", 0))
        if self.csv:
            self.csv.write(row)
        if self.tb:
            self.tb.write(row, step)
        for sink in self.sinks:
            sink.write(row, step)

    def write_event(self, row: Mapping[str, Any], step: int) -> None:
        """Per-episode or evaluation values: TensorBoard and extra sinks, not the CSV."""
        if self.tb:
            self.tb.write(row, step)
        for sink in self.sinks:
            sink.write(row, step)

    def flush(self) -> None:
        if self.tb:
            self.tb.flush()

    def close(self) -> None:
        if self.tb:
            self.tb.close()
        for sink in self.sinks:
            sink.close()
