"""Accuracy and training time of the course's two baseline models on digits.

    python benchmarks/digits_baselines.py

The same settings as tests/lib/test_train.py::test_mlp_and_cnn_reach_97_percent,
which asserts the accuracies; this script reports the wall-clock times, which
a test must not assert.
"""

import time

import minnet


def main():
    data = minnet.data.load_digits(rng=0)
    images = data.as_images()
    runs = [
        ("MLP 64-128-64-10, 25 epochs", minnet.mlp([64, 128, 64, 10], rng=0), data, 25),
        ("small CNN (2 conv), 10 epochs", minnet.small_cnn(rng=0), images, 10),
    ]
    print(f"{'model':<32}{'test accuracy':>14}{'train time':>12}")
    for name, model, d, epochs in runs:
        start = time.perf_counter()
        minnet.fit(
            model,
            d.X_train,
            d.y_train,
            epochs=epochs,
            batch_size=32,
            optimizer=minnet.Adam(lr=1e-3),
            rng=0,
            verbose=False,
        )
        seconds = time.perf_counter() - start
        accuracy = minnet.evaluate(model, d.X_test, d.y_test).accuracy
        print(f"{name:<32}{accuracy:>13.1%}{seconds:>11.1f}s")


if __name__ == "__main__":
    main()
