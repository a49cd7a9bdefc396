"""Imported once by the fork server of :mod:`tests.preloaded`: gymkit's CLI, TensorFlow, Keras.

Imports only: TensorFlow's devices and thread pools are made on first use, in each child, so
nothing that a fork cannot copy (a running thread) exists yet.
"""

from gymkit.tf_import import native_stderr_silenced

with native_stderr_silenced():
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

import gymkit.cli  # noqa: E402, F401
