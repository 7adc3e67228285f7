"""CSV that spreadsheets open as data: the one writer behind every CSV export.

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula (CSV injection, OWASP), so a guest named
``=HYPERLINK("http://x","y")`` would be a link in the host's spreadsheet. The guard
applies to every text cell of every column, email and phone included: ``+1@x.org`` is a
valid address and ``-1 212 555 0100`` passes the phone check. Exports write through
``csv_text`` or ``csv_chunks`` only, so a new column can't forget it.

Excel reads a CSV without a byte-order mark in the computer's legacy code page, so
"Zoë" arrives as "ZoÃ«"; with one (``BOM``) it reads UTF-8. LibreOffice, Sheets and
Python's ``utf-8-sig`` skip it.

Times go out twice, as ``both_clocks`` writes them: on the meeting's clock and in UTC,
as ``YYYY-MM-DD HH:MM``, which spreadsheets read as a date (an ISO string with an
offset they keep as text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

# OWASP's list, and NUL (OWASP ASVS 1.2.10); each starts a formula in some spreadsheet.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
ROWS_PER_CHUNK = 500
BOM = "\ufeff"
SPREADSHEET_TIME = "%Y-%m-%d %H:%M"  # what Excel, LibreOffice and Sheets read as a date


def both_clocks(moment: datetime | None, zone: tzinfo) -> tuple[str, str]:
    """The moment on ``zone``'s clock and in UTC, or two empty cells."""
    if moment is None:
        return "", ""
    return (
        moment.astimezone(zone).strftime(SPREADSHEET_TIME),
        moment.astimezone(UTC).strftime(SPREADSHEET_TIME),
    )


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run gets a leading apostrophe, which spreadsheets read
    as "this is text" and don't show. Numbers are left alone: a number is no formula,
    and -1 must stay a number."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _writer(out: io.StringIO) -> Any:
    # Every field quoted (RFC 4180): a ";" in a name can't start a new cell, with a
    # formula at its start, in a spreadsheet that splits on semicolons.
    return csv.writer(out, quoting=csv.QUOTE_ALL)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> str:
    out = io.StringIO(BOM if bom else "")
    out.seek(0, io.SEEK_END)
    writer = _writer(out)
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()


async def csv_chunks(
    header: Sequence[str],
    rows: AsyncIterable[Sequence[Any]],
    *,
    rows_per_chunk: int = ROWS_PER_CHUNK,
    bom: bool = False,
) -> AsyncIterator[str]:
    """The same CSV as ``csv_text``, a few hundred rows at a time, for a streamed response."""
    out = io.StringIO()
    out.write(BOM if bom else "")
    writer = _writer(out)
    writer.writerow(header)
    count = 0
    async for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        count += 1
        if count % rows_per_chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
