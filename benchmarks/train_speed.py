"""Training speed of minnet against PyTorch on the CPU, measured in one run.

    python benchmarks/train_speed.py            # needs torch: pip install -e ".[torch]"

Same model (the torch one is ``minnet.interop.to_torch`` of the minnet one:
an MLP, LeNet-5, and the course's small CNN and small ResNet), batch size,
optimizer (SGD, momentum 0.9) and data (random inputs, so no download) for
both libraries, in three runs (``--runs``): the median ratio and its range. A second part trains minnet's two
models beside a busy loop that keeps one core busy (as a second notebook or a
grading run would), with minnet's default thread policy ("auto", see
``minnet/threads.py``), one thread, and BLAS's own default (what minnet did
before), and prints the speed under load / idle speed of each. Prints examples per second and
the ratio minnet / PyTorch (> 1 means minnet is faster). A bare NumPy loop
for the MLP shows the floor: the cost of the library's bookkeeping is the gap
between it and minnet. Each figure is the median of several timed epochs
the contenders taking turns epoch by epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time

import numpy as np

import minnet
from minnet import metrics

BATCH = 64


def interleaved_rates(contenders: dict, n_examples: int, repeats: int) -> dict:
    """Examples per second of each contender (name -> zero-argument epoch function):
    ``metrics.compare_latency`` with the contenders taking turns, one untimed epoch
    before each timed one (warm caches; the previous contender's idle threads have
    stopped spinning). Returns the median rate per contender."""
    epochs = {name: (lambda _, run=run: run(), None) for name, run in contenders.items()}
    timed = metrics.compare_latency(epochs, rounds=repeats, repeats=1, warmup=1, warmup_every_turn=True)
    return {name: n_examples / (latency.median_ms / 1e3) for name, latency in timed.items()}


def minnet_epoch(model, X, y):
    opt = minnet.SGD(lr=0.01, momentum=0.9)
    return lambda: minnet.fit(model, X, y, epochs=1, batch_size=BATCH, optimizer=opt, rng=0, verbose=False)


def numpy_mlp_epoch(X, y, sizes, rng=0):
    """The floor: a hand-written NumPy loop for the same MLP, no library."""
    gen = np.random.default_rng(rng)
    Ws = [(gen.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    vel = [np.zeros_like(p) for p in Ws + bs]

    def epoch():
        order = gen.permutation(len(X))
        for i in range(0, len(X), BATCH):
            idx = order[i : i + BATCH]
            xb, yb = X[idx], y[idx]
            acts = [xb]
            for j, (W, b) in enumerate(zip(Ws, bs)):
                z = acts[-1] @ W + b
                acts.append(np.maximum(z, 0) if j < len(Ws) - 1 else z)
            p = np.exp(acts[-1] - acts[-1].max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            g = p / len(yb)
            grads = []
            for j in reversed(range(len(Ws))):
                grads.append((acts[j].T @ g, g.sum(0)))
                if j:
                    g = (g @ Ws[j].T) * (acts[j] > 0)
            grads = grads[::-1]
            for k, (p_, g_) in enumerate(zip(Ws + bs, [gw for gw, _ in grads] + [gb for _, gb in grads])):
                vel[k] *= 0.9
                vel[k] += g_
                p_ -= 0.01 * vel[k]

    return epoch


def torch_epoch(model, X, y):
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), BATCH):
            idx = perm[i : i + BATCH]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()

    return epoch


@contextlib.contextmanager
def busy_core():
    """A second process that keeps one core busy until the block ends."""
    loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it start spinning
        yield
    finally:
        loop.kill()
        loop.wait()


def thread_policies(X_flat, X_img, y, repeats):
    """Examples/s of minnet's MLP and LeNet-5 per thread policy, idle and beside a busy core."""
    models = {"MLP": (lambda: minnet.mlp([784, 300, 100, 10], rng=0), X_flat), "LeNet-5": (minnet.lenet5, X_img)}
    policies = {"auto (default)": "auto", "1 thread": 1, "BLAS default (before)": None}

    def contenders():
        runs = {}
        for model_name, (make, X) in models.items():
            for policy_name, policy in policies.items():
                epoch = minnet_epoch(make(), X, y)

                def run(epoch=epoch, policy=policy):
                    minnet.set_num_threads(policy)
                    epoch()

                runs[(model_name, policy_name)] = run
        return runs

    idle = interleaved_rates(contenders(), len(y), repeats)
    with busy_core():
        busy = interleaved_rates(contenders(), len(y), repeats)
    minnet.set_num_threads("auto")
    return idle, busy


def layer_times(model, X, y, batches: int = 30) -> list[tuple[str, float, float]]:
    """Milliseconds per batch of each layer's forward and backward, one BLAS thread:
    where a training step spends its time (the next bottleneck)."""
    from threadpoolctl import threadpool_limits

    forward, backward = [0.0] * len(model.layers), [0.0] * len(model.layers)
    with threadpool_limits(1, user_api="blas"):
        for b in range(batches + 1):  # the first batch warms up, untimed
            xb, yb = X[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH]
            h = xb
            for i, layer in enumerate(model.layers):
                start = time.perf_counter()
                h = layer.forward(h)
                forward[i] += (time.perf_counter() - start) * (b > 0)
            _, grad = minnet.losses.softmax_cross_entropy(h, yb)
            for i in reversed(range(len(model.layers))):
                start = time.perf_counter()
                grad = model.layers[i].backward(grad) if i else model.layers[i].backward(grad, input_grad=False)
                backward[i] += (time.perf_counter() - start) * (b > 0)
    return [
        (repr(layer), f * 1e3 / batches, bk * 1e3 / batches) for layer, f, bk in zip(model.layers, forward, backward)
    ]


def print_layer_times(rows) -> None:
    total = sum(f + b for _, f, b in rows)
    print(f"\nLeNet-5, one BLAS thread, batch {BATCH}: milliseconds per batch by layer")
    print(f"{'#':>3}  {'layer':<58}{'forward':>9}{'backward':>10}{'share':>8}")
    for i, (name, f, b) in enumerate(rows):
        print(f"{i:>3}  {name[:57]:<58}{f:>9.3f}{b:>10.3f}{(f + b) / total:>8.0%}")
    print(f"{'':>3}  {'total':<58}{sum(f for _, f, _ in rows):>9.3f}{sum(b for _, _, b in rows):>10.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=6400, help="examples per timed epoch (default 6400)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per measurement (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the comparison with torch (default 3)")
    parser.add_argument("--skip-load", action="store_true", help="skip the busy-machine part")
    args = parser.parse_args(argv)
    gen = np.random.default_rng(0)
    y = gen.integers(0, 10, args.examples)
    X_flat = gen.standard_normal((args.examples, 784)).astype(np.float32)
    X_img = X_flat.reshape(-1, 1, 28, 28)
    try:
        import torch

        from minnet import interop
    except ImportError:
        print(
            "PyTorch is not installed, so the comparison with it is skipped. Install it with\n"
            '    pip install -e ".[torch]"\nand run again.'
        )
    else:
        compare_with_torch(torch, interop, X_flat, X_img, y, args)
    print_layer_times(layer_times(minnet.lenet5(rng=0), X_img, y))
    if not args.skip_load:
        print_thread_policies(*thread_policies(X_flat, X_img, y, args.repeats))
    return 0


# name -> (minnet model builder, input kind, target ratio minnet / torch); the torch model is
# interop.to_torch of the same minnet model, so both start from the same weights
MODELS = {
    "MLP 784-300-100-10": (lambda: minnet.mlp([784, 300, 100, 10], rng=0), "flat", None),
    "LeNet-5-like CNN, 28x28": (lambda: minnet.lenet5(rng=0), "image", 0.9),
    "small CNN (course), 8x8": (lambda: minnet.small_cnn(rng=0), "digit", 0.9),
    "small ResNet (course), 8x8": (lambda: minnet.small_resnet(rng=0), "digit", None),
}


def compare_with_torch(torch, interop, X_flat, X_img, y, args):
    X_digit = np.random.default_rng(1).standard_normal((len(y), 1, 8, 8)).astype(np.float32)
    inputs = {"flat": X_flat, "image": X_img, "digit": X_digit}
    print(
        f"batch {BATCH}, {args.examples} examples per epoch; each run: the median of {args.repeats} interleaved "
        f"epochs; {args.runs} runs; torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"numpy {np.__version__}"
    )
    ratios = {name: [] for name in MODELS}
    rates = {name: [] for name in MODELS}
    floor = []
    for _ in range(args.runs):
        for name, (make, kind, _) in MODELS.items():
            torch.manual_seed(0)
            X = inputs[kind]
            contenders = {
                "minnet": minnet_epoch(make(), X, y),
                "torch": torch_epoch(interop.to_torch(make()), X, y),
            }
            if kind == "flat":
                contenders["numpy"] = numpy_mlp_epoch(X, y, [784, 300, 100, 10])
            rate = interleaved_rates(contenders, args.examples, args.repeats)
            ratios[name].append(rate["minnet"] / rate["torch"])
            rates[name].append((rate["minnet"], rate["torch"]))
            if kind == "flat":
                floor.append((rate["numpy"] / rate["torch"], rate["minnet"] / rate["numpy"]))
    print(f"\n{'model':<28}{'minnet ex/s':>13}{'torch ex/s':>13}{'ratio: median (range)':>26}{'target':>10}")
    for name, (_, _, target) in MODELS.items():
        ours, theirs = (float(np.median(side)) for side in zip(*rates[name]))
        low, mid, high = min(ratios[name]), float(np.median(ratios[name])), max(ratios[name])
        goal = "" if target is None else f">= {target}x"
        verdict = "" if target is None else ("  ok" if mid >= target else "  BELOW TARGET")
        print(f"{name:<28}{ours:>13,.0f}{theirs:>13,.0f}{mid:>12.2f}x ({low:.2f}-{high:.2f}x){goal:>10}{verdict}")
    numpy_vs_torch, minnet_vs_numpy = (float(np.median(side)) for side in zip(*floor))
    print(
        f"\nbare NumPy MLP loop: {numpy_vs_torch:.2f}x torch's examples/s; "
        f"minnet reaches {minnet_vs_numpy:.0%} of the bare loop (medians of {args.runs} runs)"
    )


def print_thread_policies(idle, busy):
    print("\nminnet beside a busy loop on one core (examples/s; targets: auto keeps >= 60% of its idle speed,")
    print("and auto's idle speed is >= 90% of the BLAS default's)")
    print(f"{'model':<9}{'threads':<24}{'idle':>9}{'busy':>9}{'busy/idle':>11}{'idle vs before':>16}")
    for (model, policy), rate in idle.items():
        before = idle[(model, "BLAS default (before)")]
        print(
            f"{model:<9}{policy:<24}{rate:>9,.0f}{busy[(model, policy)]:>9,.0f}"
            f"{busy[(model, policy)] / rate:>10.0%}{rate / before:>15.0%}"
        )


if __name__ == "__main__":
    sys.exit(main())
