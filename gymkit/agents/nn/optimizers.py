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


def apply_gradients(optimizer: Any, grads: Any, variables: Any, *, fused: bool = False) -> None:
    """``optimizer.apply_gradients(zip(grads, variables))``, inside a ``tf.function``.

    For a plain Keras Adam (no weight decay, EMA, gradient accumulation, loss scaling,
    AMSGrad, per-variable clipping or constraints: what :func:`make_optimizer` builds) the
    update is written out here with the very ops of Keras's ``Adam.update_step``, in its
    order, so every variable and slot gets the same bits. What differs is only that the
    step's scalars (the learning rate, ``beta**t`` and the bias-corrected step size) are
    built once for all variables instead of once per variable, and that Keras's
    distribution-strategy wrapping per variable is skipped: the optimizer's part of the
    trace has about half the ops (a Nature-CNN update traces 0.15-0.2 s faster on a 2-core
    CPU). It reads Keras's slots through its private attributes; ``tests/test_optimizers.py``
    holds it to Keras's bits, so a Keras release that changes them fails there. Anything
    else goes to Keras's own ``apply_gradients``.

    ``fused=True`` updates each variable of such an Adam with TensorFlow's fused kernel
    instead (``ResourceApplyAdam`` on Keras's own slots and step counter): one op and one
    pass over memory a variable where the written-out update takes about a dozen, at the
    price of Keras's exact bits. DQN's update
    asks for it when it runs on TensorFlow's kernels (under XLA the written-out ops are
    fused anyway): a Nature-CNN update went from 24.3 to 21.4 ms on a 2-core AMD EPYC.
    """
    grads, variables = list(grads), list(variables)
    if not _plain_adam(optimizer, grads, variables):
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return
    import tensorflow as tf

    with tf.name_scope(optimizer.name):
        grads = optimizer._clip_gradients(grads)  # global_clipnorm, as Keras applies it
        dtype = variables[0].dtype
        lr = tf.cast(optimizer.learning_rate, dtype)  # a schedule is read at the current iteration
        local_step = tf.cast(optimizer.iterations + 1, dtype)
        beta_1, beta_2 = tf.constant(optimizer.beta_1, dtype), tf.constant(optimizer.beta_2, dtype)
        beta_1_power, beta_2_power = tf.pow(beta_1, local_step), tf.pow(beta_2, local_step)
        epsilon = tf.constant(optimizer.epsilon, dtype)
        if not fused:
            alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            one_minus_beta_1 = tf.constant(1 - optimizer.beta_1, dtype)
            one_minus_beta_2 = tf.constant(1 - optimizer.beta_2, dtype)
        for grad, variable in zip(grads, variables, strict=True):
            index = optimizer._get_variable_index(variable)
            # the slots' tf.Variables
            m, v = optimizer._momentums[index].value, optimizer._velocities[index].value
            grad = tf.cast(grad, dtype)
            if fused:
                # TensorFlow's fused kernel: Keras's formula, but 1 - beta formed in float32
                # (1 - 0.999f = 0.00099998713 where Keras rounds the float64 0.001 to 0.001f),
                # so it agrees with Keras to float32 rounding (tests/test_optimizers.py)
                target = variable if isinstance(variable, tf.Variable) else variable.value  # Keras wraps it
                tf.raw_ops.ResourceApplyAdam(
                    var=target.handle, m=m.handle, v=v.handle, beta1_power=beta_1_power,
                    beta2_power=beta_2_power, lr=lr, beta1=beta_1, beta2=beta_2, epsilon=epsilon, grad=grad)
                continue
            # Keras's update_step: assign_add is one op where Keras reads, adds and assigns
            # (the same float sum either way)
            m.assign_add(tf.multiply(tf.subtract(grad, m), one_minus_beta_1))
            v.assign_add(tf.multiply(tf.subtract(tf.square(grad), v), one_minus_beta_2))
            variable.assign_sub(tf.divide(tf.multiply(m, alpha), tf.add(tf.sqrt(v), epsilon)))
    optimizer.iterations.assign_add(1)


def _plain_adam(optimizer: Any, grads: list, variables: list) -> bool:
    """Whether :func:`apply_gradients` may write ``optimizer``'s update itself."""
    import keras

    if type(optimizer) is not keras.optimizers.Adam:
        return False
    scalars = (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon)
    return (optimizer.built and not optimizer.amsgrad and all(isinstance(x, float) for x in scalars)
            and optimizer.weight_decay is None and not optimizer.use_ema
            and not optimizer.gradient_accumulation_steps and optimizer.loss_scale_factor is None
            and not optimizer.clipnorm and not optimizer.clipvalue
            and all(g is not None for g in grads)
            and len({v.dtype for v in variables}) == 1
            and not any(getattr(v, "constraint", None) is not None
                        or getattr(v, "overwrite_with_gradient", False) for v in variables))
