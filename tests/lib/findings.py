"""Two pruning findings the README reports, on the 8x8 digits, with fixed seeds.

    python tests/lib/findings.py      # prints the figures

1. Global magnitude pruning of 90% of the hidden-layer weights of a
   64-128-64-10 MLP, then 4 epochs of fine-tuning (Adam, lr 3e-3), against
   random pruning (four random masks) with the same fine-tuning.
2. One-shot against iterative pruning to 95% of a 64-32-32-10 MLP (a network
   with little slack, where the difference shows), with the same total
   training: one-shot prunes once and fine-tunes 8 epochs; iterative prunes in
   4 rounds (58%, 82%, 92%, 95%) with 2 epochs after each.
test_findings.py asserts the orderings on these settings (the same code).
"""

import minnet
from minnet.prune import Iterative, Training, prune, prune_loop, random_scores, retrain

FINE_TUNE_LR = 3e-3


def trained_mlp(sizes, data):
    model = minnet.mlp(sizes, rng=0)
    minnet.fit(
        model, data.X_train, data.y_train, epochs=25, batch_size=32, optimizer=minnet.Adam(lr=1e-3), verbose=False
    )
    return model


def pruned_and_fine_tuned(model, data, sparsity, epochs, scores=None, rng=0):
    """Test accuracy after one-shot global pruning and ``epochs`` of fine-tuning."""
    pruned = model.copy()
    prune(pruned, sparsity=sparsity, scores=scores)
    retrain(
        pruned,
        data.X_train,
        data.y_train,
        strategy="fine_tune",
        fine_tune_lr=FINE_TUNE_LR,
        epochs=epochs,
        batch_size=32,
        optimizer_factory=lambda: minnet.Adam(lr=FINE_TUNE_LR),
        rng=rng,
    )
    return minnet.evaluate(pruned, data.X_test, data.y_test).accuracy


def magnitude_vs_random(sparsity=0.9, epochs=4, random_seeds=(0, 1, 2, 3)):
    """(dense accuracy, magnitude accuracy, [random accuracy per seed])."""
    data = minnet.data.load_digits(rng=0)
    model = trained_mlp([64, 128, 64, 10], data)
    dense = minnet.evaluate(model, data.X_test, data.y_test).accuracy
    magnitude = pruned_and_fine_tuned(model, data, sparsity, epochs)
    random = [
        pruned_and_fine_tuned(model, data, sparsity, epochs, scores=lambda m, s=s: random_scores(m, rng=s))
        for s in random_seeds
    ]
    return dense, magnitude, random


def iterative_vs_one_shot(sparsity=0.95, total_epochs=8, rounds=4, seeds=(0, 1, 2)):
    """[(one-shot accuracy, iterative accuracy)] per training seed."""
    data = minnet.data.load_digits(rng=0)
    model = trained_mlp([64, 32, 32, 10], data)
    results = []
    for seed in seeds:
        one_shot = pruned_and_fine_tuned(model, data, sparsity, total_epochs, rng=seed)
        iterative = model.copy()
        retraining = Training(
            data.X_train,
            data.y_train,
            epochs=total_epochs // rounds,
            batch_size=32,
            optimizer_factory=lambda: minnet.Adam(lr=FINE_TUNE_LR),
            rng=seed,
        )
        schedule = Iterative.to_target(sparsity, rounds)
        prune_loop(iterative, schedule=schedule, validation=(data.X_val, data.y_val), retrain=retraining, verbose=False)
        results.append((one_shot, minnet.evaluate(iterative, data.X_test, data.y_test).accuracy))
    return results


def main():
    dense, magnitude, random = magnitude_vs_random()
    print("1. 90% of the hidden-layer weights of a 64-128-64-10 MLP, 4 epochs of fine-tuning")
    print(f"   dense                    test accuracy {dense:.3f}")
    print(f"   global magnitude         test accuracy {magnitude:.3f}  (loss {dense - magnitude:+.3f})")
    for seed, accuracy in enumerate(random):
        print(f"   random mask, seed {seed}     test accuracy {accuracy:.3f}  (loss {dense - accuracy:+.3f})")
    print("2. 95% of the hidden-layer weights of a 64-32-32-10 MLP, 8 epochs of training in all")
    for seed, (one_shot, iterative) in enumerate(iterative_vs_one_shot()):
        print(f"   seed {seed}: one-shot {one_shot:.3f}, iterative (4 rounds) {iterative:.3f}")


if __name__ == "__main__":
    main()
