"""The library's figures, in one place: each function draws data it is given
on a Matplotlib Axes (a new one when ``ax`` is None) and returns the Axes.
The objects that own the data (``History``, the pruning schedules,
``LoopResult``) have a ``plot`` method that passes theirs here."""

from __future__ import annotations

import numpy as np

SPARSITY_LABEL = "sparsity (fraction of weights pruned)"


def _axes(ax):
    if ax is not None:
        if not callable(getattr(ax, "plot", None)):
            raise TypeError(f"ax must be a Matplotlib Axes (or None for a new figure), got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt  # imported here: only figures need it

    return plt.subplots(figsize=(5, 3.5))[1]


def learning_curves(epochs, train, validation, *, metric: str, title: str, ax=None):
    """``train`` and (where not None) ``validation`` values of ``metric`` per epoch."""
    ax = _axes(ax)
    ax.plot(epochs, train, marker=".", label="train")
    if any(v is not None for v in validation):
        ax.plot(epochs, validation, marker=".", label="validation")
    ax.set(title=title, xlabel="epoch", ylabel=metric if metric == "accuracy" else "loss (nats)")
    ax.legend()
    return ax


def schedule(steps, values, pruning_steps, *, title: str, step_label: str, ax=None):
    """A schedule's target ``values`` at ``steps``, with markers where pruning
    happens, and as a dashed staircase the sparsity a model pruned only at
    those steps has (0 before the first one)."""
    ax = _axes(ax)
    marks = {s: v for s, v in zip(steps, values) if s in pruning_steps}
    held, current = [], 0.0
    for s in steps:
        current = marks.get(s, current)
        held.append(current)
    ax.plot(steps, values, color="C0", label="schedule: sparsity(step)")
    ax.plot(steps, held, color="C1", linestyle="--", drawstyle="steps-post", label="model (pruned at markers)")
    if marks:
        ax.plot(*zip(*marks.items()), linestyle="none", marker="o", markersize=4, color="C1", label="pruning step")
    ax.set(title=title, xlabel=step_label, ylabel=SPARSITY_LABEL)
    ax.set_ylim(-0.03, 1.03)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def accuracy_vs_sparsity(sparsities, accuracies, *, label: str | None, title: str, ax=None):
    """Validation accuracy against sparsity, one point per pruning round."""
    ax = _axes(ax)
    ax.plot(sparsities, accuracies, marker="o", label=label)
    ax.set(title=title, xlabel=SPARSITY_LABEL, ylabel="validation accuracy")
    if label:
        ax.legend()
    return ax


def group_map(layers, families, roles, *, title: str = "Which layers each group family touches", ax=None):
    """A grid: one row per layer, one column per family of dependency groups; a
    cell shows the layer's role for that family's units (``roles[(layer, family)]``:
    "writes", "normalises" or "reads")."""
    from matplotlib.colors import ListedColormap  # imported here: only figures need it

    ax = _axes(ax)
    codes = {"reads": 1, "normalises": 2, "writes": 3}
    grid = np.zeros((len(layers), len(families)))
    for (layer, family), role in roles.items():
        grid[layers.index(layer), families.index(family)] = codes[role]
    colours = ListedColormap(["white", "#9ecae1", "#fdae6b", "#d62728"])
    ax.imshow(grid, cmap=colours, vmin=0, vmax=3, aspect="auto")
    ax.set_yticks(range(len(layers)), layers, fontsize=8)
    ax.set_xticks(range(len(families)), families, rotation=35, ha="right", fontsize=8)
    ax.set(title=title, xlabel="group family (the layers that write its units)", ylabel="layer")
    for role, code in codes.items():
        ax.scatter([], [], marker="s", color=colours(code / 3), label=role)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return ax
