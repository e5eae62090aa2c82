"""What pruning buys in time and bytes on the CPU, measured in one run.

    python benchmarks/prune_speed.py              # NumPy and SciPy only, about a minute
    python benchmarks/prune_speed.py --threads 0  # the BLAS library's default thread count

On a 784-1024-1024-10 MLP (minnet.mlp, float32):

(a) structured: remove 50% / 75% of the neurons of both hidden layers (the
    lowest-L2 columns), ``minnet.prune.surgery.shrink`` the model, and time
    ``inference`` at batch 256, dense vs shrunk. Prints the MAC reduction
    (dense MACs / shrunk MACs), the measured speed-up and their ratio
    (target: speed-up >= 0.8x the MAC reduction).
(b) unstructured: magnitude masks per layer at 50-99% sparsity; the same
    forward pass (biases, ReLU, all layers) with dense NumPy matmuls
    (``model.inference``) vs scipy.sparse CSR matmuls
    (``minnet.sparse.CSRNetwork``), at batch 1 and 256; prints the speed-up
    of CSR and the lowest sparsity at which it wins.
(c) storage: ``minnet.metrics.model_bytes`` dense vs CSR vs bitmask.

Timings are medians of interleaved repeats (``train_speed.interleaved_rates``):
the contenders take turns, each with an untimed warm-up call before its timed
one, so load from elsewhere on the machine hits all of them alike. BLAS runs
on one thread by default, like scipy's CSR kernels, so (b) compares per-core
speed; one thread also keeps the figures stable on a busy machine, where
multi-threaded BLAS stalls whenever one of its threads is descheduled. The
header prints the load average: figures taken under load are rough.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import scipy
from threadpoolctl import threadpool_info, threadpool_limits
from train_speed import interleaved_rates

import minnet
from minnet import metrics
from minnet.anatomy import weight_names
from minnet.prune.surgery import shrink
from minnet.sparse import CSRNetwork

SIZES = [784, 1024, 1024, 10]
SPARSITIES = [0.5, 0.8, 0.9, 0.95, 0.99]


def attach(layer, key, mask):
    """Mask ``layer.params[key]`` (True = kept) and zero what it prunes."""
    layer.masks[key] = mask
    layer.params[key] = layer.params[key] * mask


def prune_hidden_neurons(model, fraction):
    """Structurally prune ``fraction`` of the units of every hidden layer (lowest L2 norm). In place."""
    minnet.prune.prune_units(model, fraction, scope="local")
    return model


def prune_magnitude(model, sparsity):
    """Unstructured: mask the ``sparsity`` fraction of smallest |w| of every Dense weight. In place."""
    minnet.prune.prune(model, sparsity, scope="local", names=weight_names(model, include_output=True))
    return model


def calls(fn, x, n):
    """A zero-argument 'epoch' for interleaved_rates: ``n`` calls of fn(x)."""

    def epoch():
        for _ in range(n):
            fn(x)

    return epoch


def structured(x, repeats):
    print(f"(a) structured pruning + shrink, inference at batch {len(x)}, median of {repeats} interleaved rounds")
    print(f"{'hidden kept':<13}{'shape':<22}{'MACs':>11}{'MAC reduction':>15}{'speed-up':>10}{'ratio':>8}")
    base = minnet.mlp(SIZES, rng=0)
    macs = metrics.flops(base, (SIZES[0],))
    print(f"{'100%':<13}{'784-1024-1024-10':<22}{macs:>11,}")
    for fraction in (0.5, 0.75):
        masked = prune_hidden_neurons(base.copy(), fraction)
        small = shrink(masked)
        assert np.allclose(small.inference(x), masked.inference(x), atol=1e-4)
        reduction = macs / metrics.flops(small, (SIZES[0],))
        rates = interleaved_rates(
            {"dense": calls(masked.inference, x, 2), "shrunk": calls(small.inference, x, 2)}, 2 * len(x), repeats
        )
        speedup = rates["shrunk"] / rates["dense"]
        shape = "-".join(str(layer.params["W"].shape[0]) for layer in small.layers if layer.params) + "-10"
        verdict = "ok" if speedup >= 0.8 * reduction else "BELOW TARGET 0.8"
        print(
            f"{1 - fraction:<13.0%}{shape:<22}{metrics.flops(small, (SIZES[0],)):>11,}{reduction:>14.2f}x"
            f"{speedup:>9.2f}x{speedup / reduction:>8.2f}  {verdict}"
        )


def unstructured(batches, repeats):
    print(f"\n(b) unstructured magnitude masks per layer: dense NumPy vs scipy CSR forward, median of {repeats} rounds")
    print(f"{'sparsity':<10}" + "".join(f"{f'CSR speed-up b={b}':>20}" for b in batches))
    gen = np.random.default_rng(0)
    inputs = {b: gen.standard_normal((b, SIZES[0])).astype(np.float32) for b in batches}
    first_win = dict.fromkeys(batches)
    models = {}
    for s in SPARSITIES:
        model = models[s] = prune_magnitude(minnet.mlp(SIZES, rng=0), s)
        dense, csr = model.inference, CSRNetwork.from_model(model).inference
        row = f"{s:<10.0%}"
        for b, x in inputs.items():
            assert np.allclose(csr(x), dense(x), atol=1e-4)
            n = max(1, 128 // b)  # batch 1: 128 calls per round, tens of ms, well above timer and jitter
            rates = interleaved_rates({"dense": calls(dense, x, n), "csr": calls(csr, x, n)}, n * b, repeats)
            speedup = rates["csr"] / rates["dense"]
            if speedup > 1 and first_win[b] is None:
                first_win[b] = s
            row += f"{speedup:>19.2f}x"
        print(row)
    for b, s in first_win.items():
        print(f"batch {b:>3}: CSR beats dense matmul from {'never (up to 99%)' if s is None else f'{s:.0%} sparsity'}")
    return models


def storage(models):
    print("\n(c) storage of all parameters (float32 values, int32 indices), vs dense")
    print(f"{'sparsity':<10}{'dense B':>12}{'CSR B':>12}{'CSR/dense':>11}{'bitmask B':>12}{'bitmask/dense':>15}")
    for s, model in models.items():
        dense, csr, bits = (metrics.model_bytes(model, fmt) for fmt in metrics.FORMATS)
        print(f"{s:<10.0%}{dense:>12,}{csr:>12,}{csr / dense:>10.1%}{bits:>12,}{bits / dense:>14.1%}")
    dense, csr, bits = (metrics.model_bytes(models[0.9], fmt) for fmt in metrics.FORMATS)
    assert min(csr, bits) <= 0.15 * dense, "sparse storage at 90% should be <= 15% of dense"
    print(f"at 90%: best sparse format (bitmask) = {min(csr, bits) / dense:.1%} of dense (<= 15%: ok)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per measurement (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1; 0 = the BLAS default)")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads or None, user_api="blas"):
        threads = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
        print(
            f"numpy {np.__version__}, scipy {scipy.__version__}, BLAS threads {threads}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}; MLP {'-'.join(map(str, SIZES))}, float32\n"
        )
        x = np.random.default_rng(0).standard_normal((256, SIZES[0])).astype(np.float32)
        structured(x, args.repeats)
        storage(unstructured([1, 256], args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
