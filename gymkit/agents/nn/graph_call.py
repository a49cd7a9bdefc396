"""Calling a ``tf.function`` with a flat input signature through its one concrete function.

A ``tf.function`` call binds its arguments to the function's type on every call (about 1 ms
for six arguments on this project's 2-core machine, more than many of the graphs it runs:
``bench/results/speed.md``). A function with a fixed, flat ``input_signature`` has exactly
one concrete function, so :class:`SignatureCall` converts each argument to its spec's dtype
itself, as the ``tf.function`` would, and calls that concrete function: the same graph and
the same numbers, without the binding. The concrete function is fetched at the first call,
so a function that is never called is never traced.

:meth:`SignatureCall.compile_in_background` prepares a function's first call ahead of time.
After the trace, a first call sets the graph up: XLA compiles it (``jit_compile=True``: about
3 s for a Nature-CNN DQN update on an AVX2-only 2-core CPU), TensorFlow's kernels run the
graph optimiser and create their oneDNN primitives (0.1-0.25 s). TensorFlow keeps all of that
per concrete function and argument shapes, whatever variables the call is handed, so running
the concrete function once on *copies* of the variables it captures prepares it without
changing a single real weight. That run goes to a background thread (C++, outside the
interpreter lock) while the caller goes on, for example playing the warm-up steps before
training starts; the next call waits for it and finds the function ready. The real calls run
the same graph on the same values, so the numbers are the same as without it.
"""

from __future__ import annotations

import threading
from typing import Any


class SignatureCall:
    """``fn(*args)`` for a ``tf.function`` whose ``input_signature`` is a flat list of specs.

    Other attributes (``experimental_get_tracing_count``, ``input_signature``, ...) are the
    wrapped function's.
    """

    def __init__(self, function: Any) -> None:
        signature = function.input_signature
        if signature is None or any(not hasattr(spec, "dtype") for spec in signature):
            raise TypeError("SignatureCall needs a tf.function with a flat input_signature of TensorSpecs")
        import tensorflow as tf  # loaded already: ``function`` is a tf.function

        self.function = function
        self._dtypes = [spec.dtype for spec in signature]
        self._convert = tf.convert_to_tensor
        self._concrete: Any = None
        #: the background run of :meth:`compile_in_background` (None when none is pending)
        self._warming: threading.Thread | None = None
        self._warm_started = False
        #: the outputs of that run, or the exception it raised (read by tests)
        self.warm_result: Any = None

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self._dtypes):
            raise TypeError(f"expected {len(self._dtypes)} arguments, got {len(args)}")
        if self._warming is not None:
            self.wait_compiled()
        if self._concrete is None:
            self._concrete = self.function.get_concrete_function()
        convert = self._convert
        return self._concrete(*(convert(a, dtype) for a, dtype in zip(args, self._dtypes, strict=True)))

    def compile_in_background(self, *example_args: Any) -> None:
        """Trace the function here, then run it once on ``example_args`` (arrays of the shapes
        the real calls will have) and on copies of the variables it captures, in a background
        thread: its first real call then finds it set up (an XLA-compiled one, its program
        compiled). The trace stays in the caller's thread: it is Python, which a thread would
        only interleave with the caller's under the interpreter lock.

        The thread copies the variables' values as they are when it reaches them, so the
        caller must not train them until the next real call (which waits for the thread);
        the real variables are only read, never written. A no-op once the function has been
        called or warmed. If the run fails (a TensorFlow release without
        ``ConcreteFunction._call_flat``, say), the first real call sets up and compiles as it
        would have anyway; ``warm_result`` holds the exception.
        """
        if len(example_args) != len(self._dtypes):
            raise TypeError(f"expected {len(self._dtypes)} example arguments, got {len(example_args)}")
        if self._warm_started or self._concrete is not None:
            return
        self._warm_started = True
        concrete = self.function.get_concrete_function()
        # not a daemon: an interpreter that exits waits for the compile instead of tearing
        # TensorFlow down under it
        self._warming = threading.Thread(target=self._warm, args=(concrete, example_args), name="gymkit-compile")
        self._warming.start()

    def _warm(self, concrete: Any, example_args: tuple[Any, ...]) -> None:
        import tensorflow as tf

        try:
            by_handle = {id(v.handle): v for v in concrete.variables}
            copies = [tf.Variable(by_handle[id(c)].read_value(), trainable=False) if id(c) in by_handle
                      else c for c in concrete.captured_inputs]
            captured = [c.handle if isinstance(c, tf.Variable) else c for c in copies]
            args = [self._convert(a, dtype) for a, dtype in zip(example_args, self._dtypes, strict=True)]
            self.warm_result = [o.numpy() for o in concrete._call_flat(args, captured)]
        except Exception as error:  # the real call traces and compiles (and reports) as usual
            self.warm_result = error

    def wait_compiled(self) -> None:
        """Wait for a :meth:`compile_in_background` run in flight (no-op when none is)."""
        warming = self._warming
        if warming is not None:
            warming.join()
            self._warming = None

    def __getattr__(self, name: str) -> Any:
        if name == "function":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.function, name)
