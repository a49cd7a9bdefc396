"""Calling a ``tf.function`` with a flat input signature through its one concrete function.

A ``tf.function`` call binds its arguments to the function's type on every call (about 1 ms
for six arguments on this project's 2-core machine, more than many of the graphs it runs:
``bench/results/speed.md``). A function with a fixed, flat ``input_signature`` has exactly
one concrete function, so :class:`SignatureCall` converts each argument to its spec's dtype
itself, as the ``tf.function`` would, and calls that concrete function: the same graph and
the same numbers, without the binding. The concrete function is fetched at the first call,
so a function that is never called is never traced.
"""

from __future__ import annotations

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

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self._dtypes):
            raise TypeError(f"expected {len(self._dtypes)} arguments, got {len(args)}")
        if self._concrete is None:
            self._concrete = self.function.get_concrete_function()
        convert = self._convert
        return self._concrete(*(convert(a, dtype) for a, dtype in zip(args, self._dtypes, strict=True)))

    def __getattr__(self, name: str) -> Any:
        if name == "function":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.function, name)
