"""Course tooling: exercise checks, student release, grading.

python -m minnet_course release            # exercises/solutions -> exercises/
python -m minnet_course grade SUB.ipynb    # grade submissions
"""

import sys

# jsonschema (imported by nbformat) imports its optional IRI format checker, which compiles a
# grammar for seconds; notebooks never use that format. The grader starts a process per
# submission, so skip it.
sys.modules.setdefault("rfc3987_syntax", None)
