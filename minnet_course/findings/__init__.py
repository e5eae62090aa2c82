"""The course's findings: each comparison a chapter teaches, run over seeds.

``registry`` holds the machinery (``finding``, ``run``, ``Record``), ``chapters``
the experiments. ``python -m minnet_course findings`` runs them; its record,
``notebooks/findings.json``, is what the chapters quote.
"""

from . import chapters  # registers the chapters' findings
from .registry import REGISTRY, Finding, Record, finding, format_records, load, run, select, write_json
