"""Why is my pruned model not smaller, not faster? Chapter 12's table, measured at length.

    python benchmarks/deploy_onnx.py                 # seeds 0-2, the MLP and the CNN
    python benchmarks/deploy_onnx.py --seeds 0       # one seed, as the chapter

For each seed and network (chapter 12's MLP 64-256-256-10; the zoo's small CNN):
train it on the 8x8 digits, then make two pruned copies, each fine-tuned for 3
epochs: "masked 90%" (global magnitude pruning of 90% of the weights, masks
kept: the file still stores every zero) and "shrunk 75%" (75% of the hidden
units removed by ``prune_units`` and ``shrink``). Each is exported to ONNX and
run by onnxruntime (one thread) at batch 1 and at batch 256, the three taking
turns. Prints the bytes of each file, raw and gzipped, the median time of one
batch with its quartiles, the speed-up over the dense file, and the test
accuracy under onnxruntime.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
from threadpoolctl import threadpool_limits

import minnet
from minnet import prune as P

try:
    from minnet import interop
except ImportError as missing:
    raise SystemExit(f"{missing}\nThis benchmark runs PyTorch's ONNX exporter and onnxruntime.") from None

NETWORKS = {
    "mlp": (lambda seed: minnet.mlp([64, 256, 256, 10], rng=seed), False),
    "cnn": (lambda seed: minnet.small_cnn(rng=seed), True),
}


def fit(model, data, epochs, lr, seed):
    minnet.fit(model, data.X_train, data.y_train, epochs=epochs, batch_size=32, optimizer=minnet.Adam(lr=lr),
               rng=seed, verbose=False)  # fmt: skip
    return model


def variants(make, data, seed) -> dict:
    """Chapter 12's three networks: dense, masked 90% and shrunk 75%, both fine-tuned."""
    dense = fit(make(seed), data, epochs=10, lr=1e-3, seed=seed)
    masked = dense.copy()
    P.prune(masked, 0.9)
    shrunk = dense.copy()
    P.prune_units(shrunk, 0.75)
    shrunk = P.shrink(shrunk)
    return {
        "dense": dense.eval(),
        "masked 90%": fit(masked, data, 3, 1e-3, seed).eval(),
        "shrunk 75%": fit(shrunk, data, 3, 1e-3, seed).eval(),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--networks", nargs="+", choices=sorted(NETWORKS), default=sorted(NETWORKS, reverse=True))
    args = parser.parse_args(argv)
    threadpool_limits(1)
    digits = minnet.data.load_digits(rng=0)
    print(f"onnxruntime, one thread; load average {os.getloadavg()[0]:.2f}")
    for name in args.networks:
        make, images = NETWORKS[name]
        data = digits.as_images() if images else digits
        shape = data.X_test.shape[1:]
        for seed in args.seeds:
            models = variants(make, data, seed)
            with tempfile.TemporaryDirectory() as folder:
                for batch in (1, 256):
                    x = data.X_test[:batch]
                    rows = interop.compare_deployments(models, shape, x, folder=folder, rounds=7, repeats=20)
                    print(f"\n{name}, seed {seed}, batch {batch}")
                    print(interop.format_deployments(rows))
                accuracy = {
                    row.name: np.mean(interop.onnx_runner(row.path)(data.X_test).argmax(1) == data.y_test)
                    for row in rows
                }
            print("test accuracy under onnxruntime: " + ", ".join(f"{k} {v:.3f}" for k, v in accuracy.items()))


if __name__ == "__main__":
    main()
