"""Structured pruning of the small ResNet: what half of its channels cost and buy.

    python benchmarks/resnet_pruning.py                      # the zoo's small_resnet, seeds 0-2
    python benchmarks/resnet_pruning.py --channels 16 32     # a wider one

For each seed: train ``minnet.small_resnet`` on the 8x8 digits (10 epochs,
Adam 3e-3), then remove 50% of the units of every dependency group family
(``prune_units``: the free channels inside each block and the channels of
both residual streams) or of the free families only ("inside the blocks"),
``shrink`` the network and fine-tune the smaller one (Adam 1e-3). Prints the
test accuracy (dense, right after pruning, after fine-tuning), the MAC
reduction (dense MACs / shrunk MACs) and the measured inference speed-up at
batch 256 (medians of interleaved repeats, one BLAS thread), and their ratio.
"""

from __future__ import annotations

import argparse
import os

from threadpoolctl import threadpool_limits

import minnet
from minnet import prune as P

BATCH = 256


def trained(channels, seed, data):
    model = minnet.small_resnet(channels=channels, rng=seed)
    minnet.fit(model, data.X_train, data.y_train, epochs=10, batch_size=32, optimizer=minnet.Adam(lr=3e-3),
               rng=seed, verbose=False)  # fmt: skip
    return model


def pruned_and_fine_tuned(model, data, seed, epochs, inside_only):
    """(accuracy right after pruning, after fine-tuning, the shrunk network)."""
    pruned = model.copy()
    groups = P.dependency_groups(pruned)
    if inside_only:
        groups = [group for group in groups if not group.coupled]
    P.prune_groups(pruned, amount=0.5, groups=groups)
    small = P.shrink(pruned)
    right_after = minnet.evaluate(small, data.X_test, data.y_test).accuracy
    minnet.fit(small, data.X_train, data.y_train, epochs=epochs, batch_size=32, optimizer=minnet.Adam(lr=1e-3),
               rng=seed, verbose=False)  # fmt: skip
    return right_after, minnet.evaluate(small, data.X_test, data.y_test).accuracy, small


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, nargs=2, default=(8, 16))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs of the shrunk network")
    args = parser.parse_args(argv)
    data = minnet.data.load_digits(rng=0).as_images()
    x = data.X_test[:BATCH] if len(data.X_test) >= BATCH else data.X_train[:BATCH]
    print(f"small_resnet(channels={tuple(args.channels)}), 50% of each group family; load average "
          f"{os.getloadavg()[0]:.2f}; one BLAS thread; batch {BATCH}")  # fmt: skip
    print(f"{'seed':>4} {'pruned':<14}{'dense':>7}{'pruned':>8}{'tuned':>7}{'MACs /':>8}{'speed-up':>9}{'ratio':>7}")
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in args.seeds:
            model = trained(tuple(args.channels), seed, data)
            dense = minnet.evaluate(model, data.X_test, data.y_test).accuracy
            for inside_only in (False, True):
                right_after, tuned, small = pruned_and_fine_tuned(model, data, seed, args.epochs, inside_only)
                macs = minnet.metrics.flops(model, (1, 8, 8)) / minnet.metrics.flops(small, (1, 8, 8))
                times = minnet.metrics.compare_latency({"dense": (model, x), "shrunk": (small, x)}, rounds=7)
                speedup = times["dense"].median_ms / times["shrunk"].median_ms
                where = "inside blocks" if inside_only else "every group"
                print(f"{seed:>4} {where:<14}{dense:>7.3f}{right_after:>8.3f}{tuned:>7.3f}{macs:>7.2f}x"
                      f"{speedup:>8.2f}x{speedup / macs:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
