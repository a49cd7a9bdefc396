"""How many bytes a replay memory will take, checked against the memory the machine has."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gymkit.errors import ConfigError

METADATA_BYTES = 4 + 4 + 1  # int32 action, float32 reward, uint8 flags


def available_memory_bytes() -> int:
    """Memory the OS can give us now (MemAvailable, falling back to free pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def slot_bytes(observation_shape: tuple[int, ...], dtype: Any, stack_size: int = 1) -> int:
    """Bytes one stored transition takes: one frame (the newest of a stack) plus metadata."""
    dtype = np.dtype(np.float32 if np.dtype(dtype) == np.float64 else dtype)
    frame_shape = tuple(observation_shape)[1:] if stack_size > 1 else tuple(observation_shape)
    return int(np.prod(frame_shape, dtype=np.int64)) * dtype.itemsize + METADATA_BYTES


def check_memory(capacity: int, bytes_per_slot: int, memory_fraction: float = 0.9) -> None:
    """Raise ConfigError when ``capacity`` slots would take more than ``memory_fraction`` of
    the memory available now (checked before allocating, so a run fails at once, not hours in)."""
    needed = int(capacity) * int(bytes_per_slot)
    available = available_memory_bytes()
    if needed > memory_fraction * available:
        raise ConfigError(
            f"replay memory needs {needed / 2**30:.2f} GiB ({int(capacity):,} x "
            f"{int(bytes_per_slot):,} B) but only {available / 2**30:.2f} GiB is available: "
            "give a smaller replay_memory_size"
        )
