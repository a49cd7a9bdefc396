"""SignatureCall: a tf.function with a flat input signature, called through its concrete function."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from gymkit.agents.nn.graph_call import SignatureCall  # noqa: E402


def _function():
    counter = tf.Variable(0, dtype=tf.int64)

    def body(x, actions):
        counter.assign_add(1)
        return tf.reduce_sum(x * 2.0, axis=1), tf.gather(x, actions, axis=1, batch_dims=1)

    spec = [tf.TensorSpec((None, 3), tf.float32), tf.TensorSpec((None,), tf.int32)]
    return tf.function(body, input_signature=spec, autograph=False), counter


def test_same_results_and_conversions_as_the_tf_function():
    plain, _ = _function()
    fast = SignatureCall(_function()[0])
    x = np.arange(6, dtype=np.float64).reshape(2, 3) / 7  # float64 in, float32 by the spec
    actions = np.array([2, 0], np.int64)                  # int64 in, int32 by the spec
    for a, b in zip(plain(x, actions), fast(x, actions), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # other batch sizes go through the same concrete function: no retracing
    fast(np.zeros((5, 3), np.float32), np.zeros(5, np.int32))
    assert fast.experimental_get_tracing_count() == 1


def test_traces_at_the_first_call_only_and_runs_the_graph_each_call():
    fn, counter = _function()
    fast = SignatureCall(fn)
    assert fast.experimental_get_tracing_count() == 0  # wrapping traces nothing
    for _ in range(3):
        fast(np.ones((1, 3), np.float32), np.zeros(1, np.int32))
    assert int(counter.numpy()) == 3 and fast.experimental_get_tracing_count() == 1


def test_refuses_functions_it_cannot_call_flat_and_wrong_argument_counts():
    with pytest.raises(TypeError, match="flat input_signature"):
        SignatureCall(tf.function(lambda x: x))
    nested = tf.function(lambda x, s: x, input_signature=[tf.TensorSpec((None,)), [tf.TensorSpec((None,))]])
    with pytest.raises(TypeError, match="flat input_signature"):
        SignatureCall(nested)
    fast = SignatureCall(_function()[0])
    with pytest.raises(TypeError, match="expected 2 arguments, got 1"):
        fast(np.ones((1, 3), np.float32))
    with pytest.raises(AttributeError):  # an instance without its function does not recurse
        getattr(SignatureCall.__new__(SignatureCall), "input_signature")  # noqa: B009


def _xla_step():
    """An XLA-compiled update of a weight and a counter (an optimizer step in miniature)."""
    weight = tf.Variable([[0.5], [-1.0], [2.0]])
    steps = tf.Variable(0, dtype=tf.int64)

    def step(x):
        weight.assign_sub(0.1 * tf.matmul(tf.matmul(x, x, transpose_a=True), weight) + tf.reduce_mean(x))
        steps.assign_add(1)
        return tf.reduce_sum(weight), steps.read_value()

    spec = [tf.TensorSpec((None, 3), tf.float32)]
    return SignatureCall(tf.function(step, input_signature=spec, jit_compile=True, autograph=False)), weight, steps


def test_compile_in_background_runs_on_copies_and_changes_no_number():
    """The warm-up run sees the real values but writes only copies; the real calls that follow
    give exactly what they give without it, through the one trace."""
    x = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(4, 3)
    cold, cold_weight, _ = _xla_step()
    warm, warm_weight, warm_steps = _xla_step()
    warm.compile_in_background(np.zeros((4, 3), np.float32))
    warm.compile_in_background(np.zeros((4, 3), np.float32))  # once only
    warm.wait_compiled()
    assert not isinstance(warm.warm_result, Exception), warm.warm_result
    # the copies started from the real weight (sum 1.5) and took one step of zeros; nothing real moved
    assert warm.warm_result[0] == pytest.approx(1.5) and int(warm.warm_result[1]) == 1
    np.testing.assert_array_equal(warm_weight.numpy(), [[0.5], [-1.0], [2.0]])
    assert int(warm_steps.numpy()) == 0
    for _ in range(3):
        a, b = cold(x), warm(x)
        assert float(a[0]) == float(b[0]) and int(a[1]) == int(b[1])
    np.testing.assert_array_equal(cold_weight.numpy(), warm_weight.numpy())
    assert warm.experimental_get_tracing_count() == 1


def test_compile_in_background_checks_its_arguments_and_is_waited_for_by_the_call():
    fast, _, steps = _xla_step()
    with pytest.raises(TypeError, match="expected 1 example arguments, got 2"):
        fast.compile_in_background(np.zeros((4, 3), np.float32), np.zeros(1))
    fast.compile_in_background(np.zeros((4, 3), np.float32))
    fast(np.ones((4, 3), np.float32))  # waits for the background run first, then runs for real
    assert int(steps.numpy()) == 1 and fast._warming is None
