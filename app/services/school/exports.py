"""Tables as CSV or XLSX byte streams: what the report routes send (nothing here knows about HTTP).

CSV is produced row by row, so a large export starts arriving at once and is never held whole in memory.
XLSX is a zip archive and cannot be streamed while being written; openpyxl's write-only mode keeps only the
current row in memory, and the finished file is sent in chunks.

Text cells that begin with ``=``, ``+``, ``-``, ``@`` (or a tab/CR) get a leading ``'``: a name typed as
``=HYPERLINK(...)`` must open as text in a spreadsheet, not run as a formula (CSV injection). XLSX cells are
typed, so openpyxl writes strings as strings, but the text is neutralised there too, for one behaviour.
Times are written in the zone the caller names (``zone``; UTC unless told: the reports pass the school's and
head their time columns with it): ISO 8601 with that zone's offset in CSV; XLSX has no time zones, so its
cells hold the wall-clock time in that zone.

Sheet titles follow Excel's rules (``sheet_title``): at most 31 characters, no brackets, colon, star,
question mark or slashes, no apostrophe first or last; the dates are kept whole and the subject is shortened
to fit, so a title never ends in a cut date (or a cut id).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, tzinfo

from openpyxl import Workbook

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK = 200
SHEET_TITLE_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CHUNK_BYTES = 64 * 1024


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], zone: tzinfo = UTC
) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel then reads accents right), one chunk per few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell_text(value, zone) for value in row])
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def sheet_title(subject: str, period: str) -> str:
    """``"<subject> <period>"`` as a valid sheet title: the period (plain dates) whole, the subject cleaned of
    the characters Excel refuses and cut, with an ellipsis, to what room is left."""
    clean = " ".join(_SHEET_FORBIDDEN.sub(" ", subject).split()).strip("'")
    room = SHEET_TITLE_MAX - len(period) - 1
    if len(clean) > room:
        clean = clean[: max(room - 1, 0)].rstrip() + "\u2026"
    return f"{clean} {period}" if clean else period


def xlsx_chunks(
    title: str, header: Sequence[str], rows: Iterable[Sequence[object]], zone: tzinfo = UTC
) -> Iterator[bytes]:
    """One sheet named ``title`` (made by ``sheet_title``)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([_cell_value(value, zone) for value in row])
    output = io.BytesIO()
    workbook.save(output)
    data = output.getbuffer()
    for start in range(0, len(data), _CHUNK_BYTES):
        yield bytes(data[start : start + _CHUNK_BYTES])


def _cell_text(value: object, zone: tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _in_zone(value, zone).isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell_value(value: object, zone: tzinfo) -> object:
    if isinstance(value, datetime):
        return _in_zone(value, zone).replace(tzinfo=None)  # XLSX has no time zones: the zone's wall clock
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _in_zone(value: datetime, zone: tzinfo) -> datetime:
    """An instant in ``zone``; a naive value (no instant) as it is."""
    return value.astimezone(zone) if value.tzinfo is not None else value
