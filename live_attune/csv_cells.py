"""Every CSV cell live-attune writes goes through ``safe_cell``: no spreadsheet formulas.

A transcript line such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would run as a formula when
the CSV is opened in a spreadsheet (CSV injection). OWASP's advice ("CSV Injection"): a text
cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a single quote
in front, which spreadsheets show as text. Numbers stay numbers: ``-0.120`` (a switch gap)
is left alone, as is any cell that is a plain decimal number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(cell: object) -> object:
    """``cell`` as it may go into a CSV: numbers and harmless text unchanged, a text cell
    that a spreadsheet would read as a formula prefixed with ``'``."""
    if not isinstance(cell, str) or not cell.startswith(FORMULA_STARTS):
        return cell
    return cell if _NUMBER.fullmatch(cell) else "'" + cell


def safe_row(cells: Iterable[object]) -> list[object]:
    return [safe_cell(c) for c in cells]
