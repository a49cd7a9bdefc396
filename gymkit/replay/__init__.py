"""Replay memory at the physical floor: each frame stored once, stacks rebuilt at sampling.

Importing this package imports no TensorFlow.
"""

from gymkit.replay.memory import (
    METADATA_BYTES,
    ReplayMemory,
    ReplaySample,
    available_memory_bytes,
)

__all__ = ["METADATA_BYTES", "ReplayMemory", "ReplaySample", "available_memory_bytes"]
