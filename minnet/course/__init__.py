"""Course tooling: exercise checks, student release, grading.

python -m minnet.course release            # exercises/solutions -> exercises/
python -m minnet.course grade SUB.ipynb    # grade submissions
"""
