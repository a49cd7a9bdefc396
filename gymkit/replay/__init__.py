"""Replay memory at the physical floor: each frame stored once, stacks rebuilt at sampling.

Importing this package imports no TensorFlow.
"""

from gymkit.replay.budget import METADATA_BYTES, available_memory_bytes, check_memory
from gymkit.replay.memory import ReplayMemory, ReplaySample
from gymkit.replay.sequences import SequenceSample, sample_sequences

__all__ = ["METADATA_BYTES", "ReplayMemory", "ReplaySample", "SequenceSample", "available_memory_bytes", "check_memory",
           "sample_sequences"]
