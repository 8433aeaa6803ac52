"""Local school days as UTC instants: reports and listings filter by the school's own calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.errors import InvalidInput
from app.db.tables import utcnow


def local_range(timezone: str, date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """``[start of date_from, start of the day after date_to)`` in ``timezone``, as UTC instants.

    Either end may be open (None): far past or far future. A reversed range is the caller's mistake.
    """
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput("'to' must not be before 'from'", code="invalid_range")
    zone = ZoneInfo(timezone)
    start = (
        datetime.combine(date_from, time.min, zone).astimezone(UTC)
        if date_from is not None
        else datetime(1970, 1, 1, tzinfo=UTC)
    )
    end = (
        datetime.combine(date_to + timedelta(days=1), time.min, zone).astimezone(UTC)
        if date_to is not None
        else datetime(9999, 1, 1, tzinfo=UTC)
    )
    return start, end


def local_instant(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The UTC instant the school's clocks show ``at`` on ``day``, by RFC 5545's rule for the two hours a
    year that are not one instant: a time the clocks skip (spring forward) is read with the offset before
    the change (02:30 becomes 03:30), a time they show twice (fall back) is its first occurrence."""
    return datetime.combine(day, at, zone).astimezone(UTC)  # fold=0 is exactly that rule


def report_range(
    timezone: str, date_from: date | None, date_to: date | None, max_days: int, default_days: int = 30
) -> tuple[date, date]:
    """The closed date range of a report: defaults to the last ``default_days`` up to today (local), at most
    ``max_days`` long (a year of a whole school is already a large export)."""
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    end = date_to or max(today, date_from or today)
    start = date_from or end - timedelta(days=default_days - 1)
    if end < start:
        raise InvalidInput("'to' must not be before 'from'", code="invalid_range")
    if (end - start).days + 1 > max_days:
        raise InvalidInput(
            f"a report covers at most {max_days} days", code="invalid_range", max_days=max_days
        )
    return start, end
