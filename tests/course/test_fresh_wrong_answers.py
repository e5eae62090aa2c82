"""Every answer of the second wrong-answer set (``tests/course/fresh_wrong_answers``)
fails its task's whole grade cell, visible and hidden checks together, run as a
submission is graded: the solution notebook's setup cells and reference
solutions, then the wrong function in place of the reference, then the grade
cell. The feedback must name no mistake other than the one made."""

import copy
import importlib
from pathlib import Path

import pytest
from fresh_wrong_answers import EXERCISES
from test_feedback_display import reference_lines

from minnet_course import notebooks

SOLUTIONS = Path(__file__).resolve().parents[2] / "exercises" / "solutions"


def _cases():
    for module_name in EXERCISES:
        module = importlib.import_module(f"fresh_wrong_answers.{module_name}")
        for task, answers in module.WRONG.items():
            for name, source in answers.items():
                yield pytest.param(module_name, task, source, id=f"{module_name}-{task}-{name}")


_NAMESPACES: dict = {}


def reference_namespace(exercise: str):
    """The namespace a submission's grade cells see when every answer is the
    reference: setup cells and solution cells of the solution notebook run in
    order (the demonstration cells in between are skipped), and the grade cells'
    sources by grade id, and the solution cells' sources."""
    if exercise not in _NAMESPACES:
        nb = notebooks.read_notebook(SOLUTIONS / f"{EXERCISES[exercise]}.ipynb")
        namespace, grade_cells, solutions = {"__name__": "__main__"}, {}, []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if notebooks.is_grade(cell):
                grade_cells[notebooks.grade_id(cell)] = cell.source
            elif notebooks.is_solution(cell) or notebooks.grade_id(cell) == "setup":
                exec(compile(cell.source, f"<{exercise} {notebooks.grade_id(cell)}>", "exec"), namespace)
                if notebooks.is_solution(cell):
                    solutions.append(cell.source)
        _NAMESPACES[exercise] = namespace, grade_cells, solutions
    return _NAMESPACES[exercise]


def _fresh_copy(namespace: dict) -> dict:
    """A copy a wrong answer may damage (models, arrays, data) without touching
    the cached reference: modules and functions are shared, the rest deep-copied."""
    out = {}
    for name, value in namespace.items():
        try:
            out[name] = copy.deepcopy(value) if not callable(value) or hasattr(value, "layers") else value
        except Exception:
            out[name] = value
    return out


def run_grade_cell(exercise: str, task: str, source: str):
    """Run ``task``'s grade cell with ``source`` replacing one reference
    function; return None when every check passed, else the exception."""
    namespace, grade_cells, solutions = reference_namespace(exercise)
    namespace = _fresh_copy(namespace)
    for solution in solutions:  # defined again here, so that they find this namespace's names
        exec(compile(solution, "<reference solution>", "exec"), namespace)
    exec(compile(source, f"<wrong answer for {task}>", "exec"), namespace)
    try:
        exec(compile(grade_cells[task], f"<{exercise} {task}>", "exec"), namespace)
    except Exception as exc:  # noqa: BLE001 - any failure of the grade cell is a rejection
        return exc
    return None


@pytest.mark.parametrize("exercise, task, source", list(_cases()))
def test_the_grade_cell_rejects_the_wrong_answer_without_showing_the_reference(exercise, task, source):
    failure = run_grade_cell(exercise, task, source)
    assert failure is not None, f"accepted:\n{source}"
    message = str(failure)
    leaked = [line for line in reference_lines(SOLUTIONS / f"{EXERCISES[exercise]}.ipynb") if line in message]
    assert not leaked, f"the feedback shows reference code {leaked}: {message}"


def _other_tasks():
    """(exercise, a wrong answer of one task, another task of that exercise): the
    slow exercises (07 and 08 train networks in their checks) with one wrong answer
    per task, the others with all of them."""
    for exercise, task, source in (p.values for p in _cases()):
        module = importlib.import_module(f"fresh_wrong_answers.{exercise}")
        if exercise in ("ex07", "ex08") and source != next(iter(module.WRONG[task].values())):
            continue
        for other in module.WRONG:
            if other != task:
                yield pytest.param(exercise, other, source, id=f"{exercise}-{task}-costs-nothing-in-{other}")


@pytest.mark.parametrize("exercise, task, source", list(_other_tasks()))
def test_a_wrong_answer_costs_no_other_task(exercise, task, source):
    failure = run_grade_cell(exercise, task, source)
    assert failure is None, f"{task} failed because of another task's wrong answer: {failure}"


# Right answers written differently from the reference: every check must pass them.
RIGHT = [
    ("ex01", "task1_check", "def dense_forward(x, W, b):\n    return np.dot(x, W) + b[None, :]\n"),
    (
        "ex01",
        "task3_check",
        (
            "def softmax_cross_entropy(logits, labels):\n"
            "    z = logits - logits.max(axis=1, keepdims=True)\n"
            "    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))\n"
            "    n = logits.shape[0]\n"
            "    onehot = np.zeros_like(logits)\n"
            "    onehot[np.arange(n), labels] = 1\n"
            "    return np.array(-(log_p * onehot).sum() / n), (np.exp(log_p) - onehot) / n\n"
        ),
    ),
    ("ex03", "task1_check", "def magnitude_scores(W):\n    return np.sqrt(W * W)\n"),
    (
        "ex03",
        "task3_check",
        ("def apoz_scores(activations):\n    return (activations > 0).astype(activations.dtype).mean(axis=0)\n"),
    ),
    (
        "ex03",
        "task4_check",
        (
            "def local_masks(scores, amount):\n"
            "    out = {}\n"
            "    for name in sorted(scores):\n"
            "        s = scores[name]\n"
            "        order = np.argsort(s, axis=None, kind='stable')\n"
            "        keep = np.ones(s.shape, bool)\n"
            "        keep[np.unravel_index(order[: round(amount * s.size)], s.shape)] = False\n"
            "        out[name] = keep\n"
            "    return out\n"
        ),
    ),
    (
        "ex04",
        "task1_check",
        (
            "def unstructured_mask(scores, amount):\n"
            "    scores = np.asarray(scores)\n"
            "    if isinstance(amount, float):\n"
            "        if not 0.0 <= amount <= 1.0:\n"
            "            raise ValueError('a fraction must be in [0, 1]')\n"
            "        k = round(amount * scores.size)\n"
            "    else:\n"
            "        if not 0 <= amount <= scores.size:\n"
            "            raise ValueError('a count must be in [0, size]')\n"
            "        k = int(amount)\n"
            "    order = np.argsort(scores.flatten(), kind='mergesort')\n"
            "    flat = np.ones(scores.size, bool)\n"
            "    flat[order[:k]] = False\n"
            "    return flat.reshape(scores.shape)\n"
        ),
    ),
    (
        "ex05",
        "task1_check",
        (
            "def neuron_mask(W, amount):\n"
            "    norms = np.linalg.norm(W, axis=0)\n"
            "    pruned = np.argsort(norms, kind='stable')[: round(amount * W.shape[1])]\n"
            "    return ~np.isin(np.arange(W.shape[1]), pruned)\n"
        ),
    ),
    (
        "ex05",
        "task2_check",
        (
            "def shrink_two_layer(W1, b1, W2, keep):\n"
            "    idx = np.flatnonzero(keep)\n"
            "    return [W1[:, idx], b1[idx], W2[idx, :]]\n"
        ),
    ),
    ("ex05", "task3_check", "def macs_two_layer(n_in, hidden, n_out):\n    return float(hidden * (n_in + n_out))\n"),
    (
        "ex06",
        "task2_check",
        ("def iterative_targets(fraction, rounds):\n    return 1 - (1 - fraction) ** np.arange(1, rounds + 1)\n"),
    ),
    (
        "ex06",
        "task3_check",
        (
            "def prune_until(model, X_val, y_val, step_fraction, max_drop, prune_fn, evaluate_fn):\n"
            "    start = evaluate_fn(model, X_val, y_val)\n"
            "    kept = []\n"
            "    for _ in range(1000):\n"
            "        state = model.state_dict()\n"
            "        prune_fn(model, step_fraction)\n"
            "        acc = evaluate_fn(model, X_val, y_val)\n"
            "        if start - acc > max_drop:\n"
            "            model.load_state_dict(state)\n"
            "            break\n"
            "        kept.append((minnet.prune.masked_fraction(model), acc))\n"
            "    return kept\n"
        ),
    ),
    (
        "ex08",
        "task1_check",
        (
            "def prune_potential(sparsities, accuracies, dense_accuracy, budget):\n"
            "    best = 0.0\n"
            "    for s, a in zip(sparsities, accuracies):\n"
            "        if dense_accuracy - a <= budget:\n"
            "            best = max(best, s)\n"
            "    return best\n"
        ),
    ),
    (
        "ex11",
        "task1_check",
        (
            "def residual_streams(model):\n"
            "    streams = [['0']]\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        if layer.branches():\n"
            "            last = f'{i}.body.{len(layer.body.layers) - 2}'\n"
            "            if layer.shortcut is None:\n"
            "                streams[-1] = streams[-1] + [last]\n"
            "            else:\n"
            "                streams.append([f'{i}.shortcut.0', last])\n"
            "    return streams\n"
        ),
    ),
    (
        "ex11",
        "task3_check",
        (
            "def remove_channel(model, members):\n"
            "    small = model.copy()\n"
            "    for name, axis, index in members:\n"
            "        layer, key = leaf_parameter(small, name)\n"
            "        keep = np.arange(layer.params[key].shape[axis]) != index\n"
            "        layer.params[key] = np.compress(keep, layer.params[key], axis=axis)\n"
            "        if key == 'beta':\n"
            "            layer.running_mean, layer.running_var = layer.running_mean[keep], layer.running_var[keep]\n"
            "            layer.num_features = int(keep.sum())\n"
            "        elif key == 'W' and axis == 0 and isinstance(layer, minnet.Conv2d):\n"
            "            layer.out_channels -= 1\n"
            "        elif key == 'W' and isinstance(layer, minnet.Conv2d):\n"
            "            layer.in_channels -= 1\n"
            "        elif key == 'W':\n"
            "            layer.in_features -= 1\n"
            "    return small\n"
        ),
    ),
]


@pytest.mark.parametrize("exercise, task, source", RIGHT, ids=[f"{e}-{t}-{i}" for i, (e, t, _) in enumerate(RIGHT)])
def test_a_right_answer_written_another_way_passes(exercise, task, source):
    failure = run_grade_cell(exercise, task, source)
    assert failure is None, f"{type(failure).__name__}: {failure}"
