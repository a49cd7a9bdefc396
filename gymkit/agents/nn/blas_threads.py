"""One BLAS thread for NumPy's acting passes, on the calling thread only.

NumPy's OpenBLAS splits a large enough matrix product over every core and then keeps its
threads spinning for a while, waiting for the next one. An image network's NumPy forward pass
(:mod:`gymkit.agents.nn.numpy_forward`) has such products, and between them the spinning
threads took the cores TensorFlow's update runs on: a Ms. Pac-Man DQN's learning phase fell
from about 160 to 105 env steps/s on a 2-core AMD EPYC. OpenBLAS 0.3.27 and later set a
thread count for the calling thread alone (``openblas_set_num_threads_local``):
:func:`one_blas_thread` uses it around a call and puts the previous count back, so the
user's own NumPy work keeps its threads. Where NumPy has no such OpenBLAS (another BLAS, an
older OpenBLAS, no ``/proc/self/maps``) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: the thread-local setter's names in OpenBLAS builds (NumPy's wheels export the first)
SETTERS = ("openblas_set_num_threads_local", "scipy_openblas_set_num_threads_local64_")


@functools.cache
def _local_setter() -> Any:
    """OpenBLAS's thread-local thread-count setter in this process, or None."""
    import numpy as np  # noqa: F401 - loads NumPy's BLAS first

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)  # already loaded: the same handle
        except OSError:
            continue
        for name in SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
                return setter
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block's NumPy matrix products on the calling thread alone."""
    setter = _local_setter()
    if setter is None:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous)
