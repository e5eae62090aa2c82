"""What a learner reads in a committed notebook fits the window: no printed line
is wider than JupyterLab's output area in a 1400-pixel window (about 121
characters of its 13 px monospace font beside the file browser), where a longer
line wraps in the middle of a word."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "exercises" / "solutions").glob("*.ipynb"))
WIDEST = 120  # characters


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_printed_line_is_wider_than_the_output_area(path):
    too_wide = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            too_wide += [
                f"cell {index}: {line[:60]}... ({len(line)})" for line in str(text).splitlines() if len(line) > WIDEST
            ]
    assert not too_wide, too_wide
