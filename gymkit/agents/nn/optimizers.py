"""The one optimizer factory of the neural agents (Keras optimizers by the configs' names)."""

from __future__ import annotations

from typing import Any

#: the ``optimizer`` names the configs accept
OPTIMIZERS = ("adam", "rmsprop", "sgd")


def make_optimizer(name: str, learning_rate: float, *, epsilon: float | None = None,
                   max_grad_norm: float = 0.0, decay_steps: int = 0,
                   final_learning_rate: float = 0.0) -> Any:
    """A Keras optimizer. Every option's ``0`` (or None) means off, the configs' convention.

    Args:
        name: adam, rmsprop or sgd.
        learning_rate: the (initial) learning rate.
        epsilon: Adam/RMSprop epsilon (None: Keras's default, 1e-7).
        max_grad_norm: clip the gradients to this global norm (0: no clipping).
        decay_steps: fall linearly to ``final_learning_rate`` over this many of the
            optimizer's own steps, saved with its variables (0: constant rate).
    """
    import keras

    rate: Any = learning_rate
    if decay_steps > 0:
        rate = keras.optimizers.schedules.PolynomialDecay(learning_rate, decay_steps, final_learning_rate,
                                                          power=1.0)
    kwargs: dict[str, Any] = {"learning_rate": rate}
    if epsilon is not None and name != "sgd":
        kwargs["epsilon"] = epsilon
    if max_grad_norm > 0:
        kwargs["global_clipnorm"] = max_grad_norm
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    return classes[name](**kwargs)
