"""Working-day arithmetic for statutory time limits (限时办结).

Limits are counted in working days from acceptance: weekends and configured public holidays do
not count, and configured make-up working days (调休, a Saturday or Sunday worked in exchange for
a bridge holiday) do. Time the case spends waiting on the applicant (rectification) is added
back to the deadline when the clock resumes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(eq=False)
class WorkingCalendar:
    """One per service, shared by everything that counts working days. The office edits its
    calendar from the administration page; :meth:`replace_days` then swaps both sets at once in
    the object everyone holds (see :mod:`zerotrip.admin.calendar`)."""

    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    @classmethod
    def from_iso(cls, holidays: Iterable[str], extra_workdays: Iterable[str]) -> WorkingCalendar:
        return cls(
            frozenset(date.fromisoformat(d) for d in holidays),
            frozenset(date.fromisoformat(d) for d in extra_workdays),
        )

    def replace_days(self, holidays: frozenset[date], extra_workdays: frozenset[date]) -> None:
        self.holidays, self.extra_workdays = holidays, extra_workdays

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The date on which ``days`` working days after ``start`` have elapsed."""
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
