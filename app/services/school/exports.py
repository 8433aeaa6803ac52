"""Tables as CSV or XLSX byte streams: what the report routes send (nothing here knows about HTTP).

CSV is produced row by row, so a large export starts arriving at once and is never held whole in memory.
XLSX is a zip archive and cannot be streamed while being written; openpyxl's write-only mode keeps only the
current row in memory, and the finished file is sent in chunks.

Text cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab/CR) get a leading ``'``: a name typed as
``=HYPERLINK(...)`` must open as text in a spreadsheet, not run as a formula (CSV injection). XLSX cells are
typed, so openpyxl writes strings as strings, but the text is neutralised there too, for one behaviour.
Times are UTC (ISO 8601 with offset in CSV; XLSX has no time zones, so its times are naive UTC).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from openpyxl import Workbook

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK = 200
_CHUNK_BYTES = 64 * 1024


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel then reads accents right), one chunk per few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell_text(value) for value in row])
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_chunks(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([_cell_value(value) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    data = output.getbuffer()
    for start in range(0, len(data), _CHUNK_BYTES):
        yield bytes(data[start : start + _CHUNK_BYTES])


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo is not None else value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell_value(value: object) -> object:
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=None) if value.tzinfo is not None else value
        )  # XLSX has no time zones (UTC)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
