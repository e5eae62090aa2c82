"""pytest set-up shared by every test, notebook and exercise run.

One BLAS thread: the course's matrices are small, so a second thread gains
little, and the tests run notebook kernels and grading subprocesses side by
side; with every process spinning two OpenBLAS threads on a 2-core machine,
oversubscription made training up to 60x slower. Kernels and subprocesses
inherit the environment variable; this process is limited with threadpoolctl.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from threadpoolctl import threadpool_limits  # noqa: E402  (after the variables, on purpose)

threadpool_limits(1)
