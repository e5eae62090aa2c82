"""MaxPool2d against its definition, over random shapes, windows and ties."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minnet


def reference_pool(x, k, s):
    """The definition, one window at a time: the max, and the gradient of a sum
    weighted by ``g`` routed to the first maximum of each window (row-major)."""
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, oh, ow), x.dtype)
    first = np.empty((n, c, oh, ow, 2), int)
    for idx in np.ndindex(n, c, oh, ow):
        a, b, i, j = idx
        window = x[a, b, i * s : i * s + k, j * s : j * s + k]
        out[idx] = window.max()
        first[idx] = np.unravel_index(np.argmax(window), window.shape)  # argmax: the first maximum
    return out, first


def reference_grad(x_shape, first, g, s):
    dx = np.zeros(x_shape, g.dtype)
    for idx in np.ndindex(g.shape):
        a, b, i, j = idx
        di, dj = first[idx]
        dx[a, b, i * s + di, j * s + dj] += g[idx]
    return dx


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    k=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 4)),
    extra_h=st.integers(0, 6),
    extra_w=st.integers(0, 6),
    levels=st.integers(1, 4),  # few distinct values: many ties
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_maxpool_matches_its_definition(n, c, k, stride, extra_h, extra_w, levels, seed, dtype):
    gen = np.random.default_rng(seed)
    x = gen.integers(0, levels, (n, c, k + extra_h, k + extra_w)).astype(dtype)
    pool = minnet.MaxPool2d(k, stride=stride)
    s = pool.stride
    out = pool.forward(x)
    expected, first = reference_pool(x, k, s)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == x.dtype
    g = gen.integers(-8, 9, out.shape).astype(dtype)  # integers: sums are exact in any order
    np.testing.assert_array_equal(pool.backward(g), reference_grad(x.shape, first, g, s))
