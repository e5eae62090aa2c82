"""A second set of plausible wrong answers, written on 2026-12-03 from the
mistake classes of issue 8 and from how students write these functions, before
the checks were re-read. Each entry replaces one solution cell's function by
source code, as a learner's submission would; ``tests/course/test_fresh_wrong_answers.py``
runs the task's whole grade cell (visible and hidden checks) on it.

Two answers first written for this set were taken out because they are right
under the task's contract: returning the last sparsity within budget (the grid
is increasing, as the task says) and retraining one pruned copy for all three
strategies (pruning it again to the same sparsity changes nothing, and weight
rewinding and re-initialisation reset the weights anyway)."""

# module of this package -> the exercise whose answers it holds
EXERCISES = {
    "ex01": "01_network",
    "ex03": "03_scoring",
    "ex04": "04_unstructured",
    "ex05": "05_structured",
    "ex06": "06_schedules",
    "ex07": "07_finetuning",
    "ex08": "08_beyond_accuracy",
    "ex11": "11_real_architectures",
}
