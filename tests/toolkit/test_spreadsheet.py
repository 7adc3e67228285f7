"""kit.toolkit.spreadsheet: CSV whose cells a spreadsheet reads as data, never as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from kit.toolkit.spreadsheet import FORMULA_TRIGGERS, csv_chunks, csv_text, safe_cell

HOSTILE = ['=HYPERLINK("http://x","y")', "+1@x.org", "-1 212 555 0100", "@SUM(A1)", "\tx", "\rx"]


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_start_a_formula_is_text(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert not str(safe_cell(value)).startswith(FORMULA_TRIGGERS)


def test_every_column_is_guarded_and_numbers_stay_numbers() -> None:
    header = ["name", "email", "phone", "note", "party_size", "offset"]
    rows = [
        [HOSTILE[0], HOSTILE[1], HOSTILE[2], "Ada; =1+1", 2, -1],
        ["Bo", "bo@x.org", "", "", 1, 0],
    ]
    [head, hostile, plain] = parsed(csv_text(header, rows))
    assert head == header
    assert hostile == ["'" + v for v in HOSTILE[:3]] + ["Ada; =1+1", "2", "-1"]
    assert plain == ["Bo", "bo@x.org", "", "", "1", "0"]


def test_every_field_is_quoted_so_a_semicolon_starts_no_cell() -> None:
    # Spreadsheets in locales that split on ";" would read "=1+1" as a cell of its own.
    assert csv_text(["note"], [["Ada; =1+1"]]).splitlines()[1] == '"Ada; =1+1"'


async def test_streamed_chunks_make_the_same_file() -> None:
    rows: list[Sequence[Any]] = [[HOSTILE[n % len(HOSTILE)], n] for n in range(12)]

    async def each() -> AsyncIterator[Sequence[Any]]:
        for row in rows:
            yield row

    chunks = [c async for c in csv_chunks(["text", "n"], each(), rows_per_chunk=5)]
    assert len(chunks) == 3
    assert "".join(chunks) == csv_text(["text", "n"], rows)
