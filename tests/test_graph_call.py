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
