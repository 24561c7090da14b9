from datetime import date

from zerotrip.cases.deadlines import WorkingCalendar


def test_weekends_and_holidays_do_not_count():
    cal = WorkingCalendar.from_iso(["2026-10-01", "2026-10-02"], ["2026-10-10"])
    # Monday 2026-09-28 + 5 working days: 29, 30, (Oct 1, 2 holidays; 3, 4 weekend), 5, 6, 7
    assert cal.add_working_days(date(2026, 9, 28), 5) == date(2026, 10, 7)
    # Saturday 2026-10-10 is a make-up working day
    assert cal.is_working_day(date(2026, 10, 10))
    assert cal.working_days_between(date(2026, 9, 28), date(2026, 10, 7)) == 5
    assert cal.working_days_between(date(2026, 10, 7), date(2026, 9, 28)) == -5
