"""`live_attune/csv_cells.py`: no cell of a CSV the tool writes runs as a spreadsheet formula."""

from __future__ import annotations

import pytest

from live_attune.csv_cells import safe_cell, safe_row


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0",
                                  "-2+3", "@SUM(A1:A2)", "\tleading tab", "\rcarriage",
                                  "-", "=", "- a dash and words"])
def test_a_text_cell_that_starts_a_formula_gets_a_quote(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-0.120", "+3", "-12", "-1.5e-3", "-.5", "0.000",
                                  "therapist", "What brings you here?", "", "'=already",
                                  " =space first", -0.12, 7, None])
def test_numbers_and_harmless_text_are_unchanged(cell: object) -> None:
    assert safe_cell(cell) == cell


def test_a_row() -> None:
    assert safe_row(["client", "-0.120", "=1+1", 3]) == ["client", "-0.120", "'=1+1", 3]
