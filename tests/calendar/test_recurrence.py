"""obcms.calendar.recurrence: RFC 5545 examples (section 3.8.5.3, read in Manila wall time), Manila times, month
ends, leap days, fifth weekdays, exception dates, all-day semantics, windows, round trips, errors, sentences and
"this and following" splits."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obcms.calendar import recurrence
from obcms.calendar.recurrence import (
    FREQUENCIES,
    MANILA,
    WEEKDAYS,
    Rule,
    RuleError,
    describe,
    from_rrule,
    nth_weekday_options,
    occurrences,
    split_before,
    to_rrule,
)

HOUR = timedelta(hours=1)


def manila(*args):
    return datetime(*args, tzinfo=MANILA)


def starts(start, rrule, **options):
    """The occurrence starts of a one-hour (timed) or one-day (all-day) event."""
    end = start + (timedelta(days=1) if not isinstance(start, datetime) else HOUR)
    return [first for first, _end in occurrences(start, end, rrule, **options)]


def at_nine(*days):
    return [manila(year, month, day, 9) for year, month, day in days]


# ---------------------------------------------------------------------------------------------------------------
# RFC 5545 section 3.8.5.3 examples (DTSTART at 09:00, in Manila instead of New York)
# ---------------------------------------------------------------------------------------------------------------


def test_rfc_daily_for_10_occurrences():
    start = manila(1997, 9, 2, 9)
    assert from_rrule("FREQ=DAILY;COUNT=10", start) == Rule("daily", count=10)
    assert starts(start, "FREQ=DAILY;COUNT=10") == [start + timedelta(days=offset) for offset in range(10)]


def test_rfc_daily_until_december_24():
    start = manila(1997, 9, 2, 9)
    found = starts(start, "FREQ=DAILY;UNTIL=19971224T000000Z")
    # 00:00Z is 08:00 in Manila, before the 09:00 occurrence of the 24th.
    assert (len(found), found[0], found[-1]) == (113, start, manila(1997, 12, 23, 9))
    assert from_rrule("FREQ=DAILY;UNTIL=19971224T000000Z", start) == Rule("daily", until=date(1997, 12, 23))


def test_rfc_every_other_day_forever():
    start = manila(1997, 9, 2, 9)
    found = starts(start, "FREQ=DAILY;INTERVAL=2", window_end=manila(1997, 9, 12))
    assert found == at_nine((1997, 9, 2), (1997, 9, 4), (1997, 9, 6), (1997, 9, 8), (1997, 9, 10))


def test_rfc_every_10_days_5_occurrences():
    found = starts(manila(1997, 9, 2, 9), "FREQ=DAILY;INTERVAL=10;COUNT=5")
    assert found == at_nine((1997, 9, 2), (1997, 9, 12), (1997, 9, 22), (1997, 10, 2), (1997, 10, 12))


def test_rfc_weekly_for_10_occurrences():
    start = manila(1997, 9, 2, 9)
    assert from_rrule("FREQ=WEEKLY;COUNT=10", start) == Rule("weekly", count=10)
    assert starts(start, "FREQ=WEEKLY;COUNT=10") == [start + timedelta(weeks=offset) for offset in range(10)]


def test_rfc_every_other_week_on_monday_wednesday_friday_until_december_24():
    start = manila(1997, 9, 1, 9)
    rrule = "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"
    assert starts(start, rrule) == at_nine(
        (1997, 9, 1), (1997, 9, 3), (1997, 9, 5), (1997, 9, 15), (1997, 9, 17), (1997, 9, 19),
        (1997, 9, 29), (1997, 10, 1), (1997, 10, 3), (1997, 10, 13), (1997, 10, 15), (1997, 10, 17),
        (1997, 10, 27), (1997, 10, 29), (1997, 10, 31), (1997, 11, 10), (1997, 11, 12), (1997, 11, 14),
        (1997, 11, 24), (1997, 11, 26), (1997, 11, 28), (1997, 12, 8), (1997, 12, 10), (1997, 12, 12),
        (1997, 12, 22),
    )  # fmt: skip
    # A Sunday week start groups Monday to Friday as a Monday one does, so the rule is editable.
    rule = from_rrule(rrule, start)
    assert rule == Rule("weekly", interval=2, weekdays=("MO", "WE", "FR"), until=date(1997, 12, 23))
    assert starts(start, to_rrule(rule, start)) == starts(start, rrule)


def test_a_week_start_that_regroups_the_days_is_refused():
    # Every other week on Tuesday and Sunday: with WKST=SU the Sunday comes before the Tuesday of its week.
    with pytest.raises(RuleError) as caught:
        from_rrule("FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,SU", manila(1997, 8, 5, 9))
    assert caught.value.field == "rrule"
    assert from_rrule("FREQ=WEEKLY;INTERVAL=2;WKST=MO;BYDAY=TU,SU", manila(1997, 8, 5, 9)).weekdays == ("TU", "SU")


def test_rfc_monthly_on_the_first_friday_for_10_occurrences():
    start = manila(1997, 9, 5, 9)
    assert from_rrule("FREQ=MONTHLY;COUNT=10;BYDAY=1FR", start) == Rule(
        "monthly", monthly_by="weekday", nth=1, count=10
    )
    assert starts(start, "FREQ=MONTHLY;COUNT=10;BYDAY=1FR") == at_nine(
        (1997, 9, 5), (1997, 10, 3), (1997, 11, 7), (1997, 12, 5), (1998, 1, 2),
        (1998, 2, 6), (1998, 3, 6), (1998, 4, 3), (1998, 5, 1), (1998, 6, 5),
    )  # fmt: skip


def test_rfc_every_other_month_on_first_and_last_sunday_is_expanded_but_not_editable():
    start = manila(1997, 9, 7, 9)
    rrule = "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU"
    assert starts(start, rrule) == at_nine(
        (1997, 9, 7), (1997, 9, 28), (1997, 11, 2), (1997, 11, 30), (1998, 1, 4),
        (1998, 1, 25), (1998, 3, 1), (1998, 3, 29), (1998, 5, 3), (1998, 5, 31),
    )  # fmt: skip
    with pytest.raises(RuleError) as caught:
        from_rrule(rrule, start)
    assert caught.value.field == "rrule"


def test_rfc_monthly_on_the_second_to_last_monday_is_expanded_but_refused_by_from_rrule():
    start = manila(1997, 9, 22, 9)
    rrule = "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO"
    assert starts(start, rrule) == at_nine(
        (1997, 9, 22), (1997, 10, 20), (1997, 11, 17), (1997, 12, 22), (1998, 1, 19), (1998, 2, 16)
    )
    with pytest.raises(RuleError) as caught:
        from_rrule(rrule, start)
    assert caught.value.field == "rrule"
    assert "weekday number -2" in str(caught.value)
    assert describe(rrule, start) == "Repeats on a custom rule"


def test_rfc_yearly_in_june_and_july_is_expanded_but_refused_cleanly():
    start = manila(1997, 6, 10, 9)
    rrule = "FREQ=YEARLY;COUNT=10;BYMONTH=6,7"
    found = starts(start, rrule)
    assert found == [manila(year, month, 10, 9) for year in range(1997, 2002) for month in (6, 7)]
    with pytest.raises(RuleError) as caught:
        from_rrule(rrule, start)
    assert caught.value.field == "rrule"
    assert str(caught.value) == (
        "This repeat rule cannot be edited here: it repeats in months other than the month of the first occurrence."
    )


def test_rfc_invalid_dates_such_as_february_30_are_ignored():
    found = starts(manila(2007, 1, 15, 9), "FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5")
    assert found == at_nine((2007, 1, 15), (2007, 1, 30), (2007, 2, 15), (2007, 3, 15), (2007, 3, 30))


@pytest.mark.parametrize(
    "rrule, start",
    [
        ("FREQ=MONTHLY;BYMONTHDAY=-3", manila(1997, 9, 28, 9)),  # third-to-last day of the month
        ("FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15", manila(1997, 9, 2, 9)),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", manila(1997, 9, 2, 9)),  # every Tuesday, every other month
        ("FREQ=YEARLY;BYDAY=20MO", manila(1997, 5, 19, 9)),  # the 20th Monday of the year
        ("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", manila(1997, 5, 12, 9)),
        ("FREQ=YEARLY;BYYEARDAY=1,100,200;COUNT=10", manila(1997, 1, 1, 9)),
        ("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", manila(1997, 9, 4, 9)),
        ("FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z", manila(1997, 9, 2, 9)),
        ("FREQ=MINUTELY;INTERVAL=15;COUNT=6", manila(1997, 9, 2, 9)),
        ("FREQ=DAILY;BYHOUR=9,10,11", manila(1997, 9, 2, 9)),
        ("FREQ=DAILY;BYMONTH=1", manila(1998, 1, 1, 9)),  # every day in January
        ("FREQ=WEEKLY;BYDAY=1MO", manila(1997, 9, 1, 9)),
        ("FREQ=MONTHLY;BYMONTHDAY=1;BYDAY=MO", manila(1997, 9, 1, 9)),
    ],
)
def test_rules_a_form_cannot_edit_are_refused_with_the_rrule_field(rrule, start):
    with pytest.raises(RuleError) as caught:
        from_rrule(rrule, start)
    assert caught.value.field == "rrule"
    assert str(caught.value).startswith("This repeat rule cannot be edited here: ")
    assert occurrences(start, start + HOUR, rrule, window_end=manila(1999, 1, 1), limit=3)  # still expanded
    assert describe(rrule, start) == "Repeats on a custom rule"


def test_rfc_every_3_hours_is_expanded_in_wall_time():
    found = starts(manila(1997, 9, 2, 9), "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T100000Z")  # 18:00 Manila
    assert found == [manila(1997, 9, 2, 9), manila(1997, 9, 2, 12), manila(1997, 9, 2, 15), manila(1997, 9, 2, 18)]


# ---------------------------------------------------------------------------------------------------------------
# Manila time, month ends, leap days, fifth weekdays
# ---------------------------------------------------------------------------------------------------------------


def test_a_9am_manila_weekly_meeting_stays_at_9am_manila_which_is_1am_utc():
    start = manila(2026, 1, 5, 9)
    rrule = to_rrule(Rule("weekly", count=60), start)
    found = occurrences(start, start + HOUR, rrule)
    assert len(found) == 60
    for first, end in found:
        assert first.tzinfo is MANILA and end.tzinfo is MANILA
        assert (first.weekday(), first.time(), end - first) == (0, time(9), HOUR)
        assert first.astimezone(UTC).time() == time(1)


def test_a_start_in_another_zone_is_read_in_manila_wall_time():
    # Monday 07:00 in Manila is Sunday 23:00 UTC: the rule's weekday is Monday.
    start = datetime(2026, 1, 4, 23, tzinfo=UTC)
    assert to_rrule(Rule("weekly", weekdays=("MO",)), start) == "FREQ=WEEKLY;BYDAY=MO"
    with pytest.raises(RuleError):
        to_rrule(Rule("weekly", weekdays=("SU",)), start)
    found = occurrences(start, start + HOUR, "FREQ=WEEKLY;COUNT=2")
    assert found == [(manila(2026, 1, 5, 7), manila(2026, 1, 5, 8)), (manila(2026, 1, 12, 7), manila(2026, 1, 12, 8))]
    new_york = ZoneInfo("America/New_York")
    assert starts(datetime(2026, 3, 6, 20, tzinfo=new_york), "FREQ=DAILY;COUNT=3") == [
        manila(2026, 3, 7, 9), manila(2026, 3, 8, 9), manila(2026, 3, 9, 9)
    ]  # fmt: skip


def test_timed_until_is_the_end_of_the_manila_day_in_utc():
    start = manila(2026, 1, 5, 9)
    assert to_rrule(Rule("daily", until=date(2026, 1, 10)), start) == "FREQ=DAILY;UNTIL=20260110T155959Z"
    assert starts(start, "FREQ=DAILY;UNTIL=20260110T155959Z")[-1] == manila(2026, 1, 10, 9)
    late = manila(2026, 1, 5, 23, 30)  # 15:30 UTC, still before the end of the Manila day
    assert starts(late, to_rrule(Rule("daily", until=date(2026, 1, 7)), late))[-1] == manila(2026, 1, 7, 23, 30)


def test_monthly_on_the_31st_skips_30_day_months_and_february():
    start = manila(2026, 1, 31, 9)
    rrule = to_rrule(Rule("monthly", count=7), start)
    assert rrule == "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=7"
    assert starts(start, rrule) == at_nine(
        (2026, 1, 31), (2026, 3, 31), (2026, 5, 31), (2026, 7, 31), (2026, 8, 31), (2026, 10, 31), (2026, 12, 31)
    )
    assert describe(rrule, start) == "Every month on day 31, 7 times"


def test_monthly_on_the_30th_skips_february_only():
    found = starts(date(2026, 1, 30), to_rrule(Rule("monthly", count=3), date(2026, 1, 30)))
    assert found == [date(2026, 1, 30), date(2026, 3, 30), date(2026, 4, 30)]


def test_yearly_on_february_29_only_in_leap_years():
    start = date(2024, 2, 29)
    rrule = to_rrule(Rule("yearly", count=4), start)
    assert rrule == "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=4"
    assert starts(start, rrule) == [date(2024, 2, 29), date(2028, 2, 29), date(2032, 2, 29), date(2036, 2, 29)]
    assert describe(rrule, start) == "Every year on 29 February, 4 times"
    assert from_rrule("FREQ=YEARLY", start) == Rule("yearly")
    assert starts(start, "FREQ=YEARLY", window_end=date(2033, 1, 1)) == [
        date(2024, 2, 29),
        date(2028, 2, 29),
        date(2032, 2, 29),
    ]


def test_fifth_monday_only_in_months_that_have_one():
    start = manila(2026, 3, 30, 9)  # the fifth Monday of March 2026
    assert nth_weekday_options(start) == [(5, "the fifth Monday"), (-1, "the last Monday")]
    rrule = to_rrule(Rule("monthly", monthly_by="weekday", count=4), start)
    assert rrule == "FREQ=MONTHLY;BYDAY=5MO;COUNT=4"
    assert starts(start, rrule) == at_nine((2026, 3, 30), (2026, 6, 29), (2026, 8, 31), (2026, 11, 30))
    assert describe(rrule, start) == "Every month on the fifth Monday, 4 times"


def test_last_friday_every_month_when_the_user_chose_it():
    start = date(2026, 1, 30)  # the fifth and last Friday of January 2026
    rrule = to_rrule(Rule("monthly", monthly_by="weekday", nth=-1, count=4), start)
    assert rrule == "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4"
    assert starts(start, rrule) == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27), date(2026, 4, 24)]
    assert describe(rrule, start) == "Every month on the last Friday, 4 times"


def test_nth_weekday_options():
    assert nth_weekday_options(date(2026, 1, 13)) == [(2, "the second Tuesday")]
    assert nth_weekday_options(date(2026, 1, 24)) == [(4, "the fourth Saturday")]  # 25..31 are the last 7 days
    assert nth_weekday_options(date(2026, 1, 25)) == [(4, "the fourth Sunday"), (-1, "the last Sunday")]
    assert nth_weekday_options(date(2026, 2, 22)) == [(4, "the fourth Sunday"), (-1, "the last Sunday")]
    assert nth_weekday_options(manila(2026, 2, 1, 0, 30)) == [(1, "the first Sunday")]
    assert nth_weekday_options(datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == [(1, "the first Sunday")]  # Feb 1 Manila


def test_yearly_on_the_second_tuesday_of_june():
    start = manila(2026, 6, 9, 9)
    rrule = to_rrule(Rule("yearly", monthly_by="weekday", count=3), start)
    assert rrule == "FREQ=YEARLY;BYMONTH=6;BYDAY=2TU;COUNT=3"
    assert starts(start, rrule) == at_nine((2026, 6, 9), (2027, 6, 8), (2028, 6, 13))
    assert describe(rrule, start) == "Every year on the second Tuesday of June, 3 times"


# ---------------------------------------------------------------------------------------------------------------
# Exception dates, all-day events, windows
# ---------------------------------------------------------------------------------------------------------------


def test_an_exdate_removes_one_occurrence():
    start = manila(2026, 1, 5, 9)
    rrule = "FREQ=DAILY;COUNT=5"
    assert starts(start, rrule, exdates=[manila(2026, 1, 7, 9)]) == at_nine(
        (2026, 1, 5), (2026, 1, 6), (2026, 1, 8), (2026, 1, 9)
    )
    # Compared by instant: 01:00 UTC is 09:00 in Manila; a different instant removes nothing.
    assert len(starts(start, rrule, exdates=[datetime(2026, 1, 7, 1, tzinfo=UTC)])) == 4
    assert len(starts(start, rrule, exdates=[manila(2026, 1, 7, 10)])) == 5
    # A date removes the occurrence of that Manila day.
    assert len(starts(start, rrule, exdates=[date(2026, 1, 7)])) == 4
    assert starts(start, None, exdates=[start]) == []


def test_an_exdate_in_an_all_day_series_is_a_day():
    start = date(2026, 1, 5)
    assert starts(start, "FREQ=DAILY;COUNT=3", exdates=[date(2026, 1, 6)]) == [date(2026, 1, 5), date(2026, 1, 7)]
    assert starts(start, "FREQ=DAILY;COUNT=3", exdates=[manila(2026, 1, 6)]) == [date(2026, 1, 5), date(2026, 1, 7)]


def test_all_day_end_is_exclusive_and_a_two_day_event_overlapping_the_window_is_returned():
    start, end = date(2026, 1, 5), date(2026, 1, 7)  # the 5th and the 6th
    rrule = "FREQ=WEEKLY;COUNT=3"
    assert occurrences(start, end, rrule, window_start=date(2026, 1, 6), window_end=date(2026, 1, 8)) == [
        (date(2026, 1, 5), date(2026, 1, 7))
    ]
    assert occurrences(start, end, rrule, window_start=date(2026, 1, 7), window_end=date(2026, 1, 12)) == []
    assert occurrences(start, end, rrule, window_start=date(2026, 1, 7), window_end=date(2026, 1, 13)) == [
        (date(2026, 1, 12), date(2026, 1, 14))
    ]
    # A datetime window over an all-day series is read in Manila days.
    assert occurrences(start, end, rrule, window_start=manila(2026, 1, 6, 23), window_end=manila(2026, 1, 7)) == [
        (date(2026, 1, 5), date(2026, 1, 7))
    ]
    after_it = datetime(2026, 1, 6, 16, 30, tzinfo=UTC)  # 00:30 on the 7th in Manila
    assert occurrences(start, end, rrule, window_start=after_it, window_end=after_it + HOUR) == []


def test_an_occurrence_that_started_before_the_window_but_overlaps_it_counts():
    start = manila(2026, 1, 5, 23)  # 23:00 to 01:00 every night
    found = occurrences(start, start + 2 * HOUR, "FREQ=DAILY", window_start=manila(2026, 1, 10),
                        window_end=manila(2026, 1, 11))  # fmt: skip
    assert found == [
        (manila(2026, 1, 9, 23), manila(2026, 1, 10, 1)),
        (manila(2026, 1, 10, 23), manila(2026, 1, 11, 1)),
    ]
    ends_at_window = occurrences(start, start + 2 * HOUR, "FREQ=DAILY", window_start=manila(2026, 1, 10, 1),
                                 window_end=manila(2026, 1, 10, 2))  # fmt: skip
    assert ends_at_window == []


def test_a_single_event_and_its_window():
    start = manila(2026, 1, 5, 9)
    assert occurrences(start, start + HOUR, None) == [(start, start + HOUR)]
    assert occurrences(start, start + HOUR, None, window_start=start + HOUR) == []
    assert occurrences(start, start + HOUR, None, window_end=start) == []
    assert occurrences(start, start, None, window_start=start, window_end=start + HOUR) == [(start, start)]
    assert occurrences(date(2026, 1, 5), date(2026, 1, 6), None) == [(date(2026, 1, 5), date(2026, 1, 6))]


def test_an_open_ended_daily_rule_over_a_400_day_window_years_after_it_started():
    start = manila(2015, 3, 2, 9)
    found = occurrences(start, start + HOUR, "FREQ=DAILY", window_start=manila(2026, 1, 1),
                        window_end=manila(2026, 1, 1) + timedelta(days=400))  # fmt: skip
    assert len(found) == 400
    assert found[0][0] == manila(2026, 1, 1, 9) and found[-1][0] == manila(2027, 2, 4, 9)
    assert len(occurrences(date(1926, 1, 1), date(1926, 1, 2), "FREQ=DAILY", window_start=date(2026, 1, 1),
                           window_end=date(2027, 2, 5))) == 400  # fmt: skip


def test_limit_caps_the_result():
    start = manila(2026, 1, 5, 9)
    assert len(occurrences(start, start + HOUR, "FREQ=DAILY")) == 5000
    assert len(occurrences(start, start + HOUR, "FREQ=DAILY", limit=7)) == 7
    assert occurrences(start, start + HOUR, "FREQ=DAILY", limit=0) == []


def test_a_start_the_rule_does_not_produce_still_counts_as_the_first_occurrence():
    # RFC 5545: DTSTART always counts as the first occurrence, also towards COUNT.
    start = manila(2026, 1, 5, 9)  # a Monday
    assert starts(start, "FREQ=WEEKLY;BYDAY=TU;COUNT=3") == at_nine((2026, 1, 5), (2026, 1, 6), (2026, 1, 13))
    assert starts(start, "FREQ=WEEKLY;BYDAY=TU;COUNT=1") == [start]
    with pytest.raises(RuleError):
        from_rrule("FREQ=WEEKLY;BYDAY=TU;COUNT=3", start)


def test_a_rule_that_names_no_real_day_gives_only_the_start():
    start = manila(2026, 1, 5, 9)
    for rrule in ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=YEARLY;BYMONTH=4,6;BYMONTHDAY=31,-31;COUNT=3"):
        assert starts(start, rrule, window_end=manila(2030, 1, 1)) == [start]
    with pytest.raises(RuleError) as caught:
        occurrences(start + HOUR, start + 2 * HOUR, "FREQ=HOURLY;INTERVAL=2;BYHOUR=3")  # 10:00, 12:00, ... never 03:00
    assert caught.value.field == "rrule"


def test_bad_arguments_to_occurrences():
    with pytest.raises(ValueError, match="naive"):
        occurrences(datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10), None)
    with pytest.raises(TypeError):
        occurrences(manila(2026, 1, 5, 9), date(2026, 1, 6), None)
    with pytest.raises(ValueError, match="before its start"):
        occurrences(manila(2026, 1, 5, 9), manila(2026, 1, 5, 8), None)
    with pytest.raises(ValueError, match="naive"):
        occurrences(manila(2026, 1, 5, 9), manila(2026, 1, 5, 10), None, window_start=datetime(2026, 1, 1))
    with pytest.raises(RuleError):
        occurrences(manila(2026, 1, 5, 9), manila(2026, 1, 5, 10), "FREQ=SOMETIMES")


# ---------------------------------------------------------------------------------------------------------------
# to_rrule / from_rrule
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, start, expected",
    [
        (Rule("daily"), manila(2026, 1, 5, 9), "FREQ=DAILY"),
        (Rule("daily", interval=2, count=10), manila(2026, 1, 5, 9), "FREQ=DAILY;INTERVAL=2;COUNT=10"),
        (
            Rule("weekly", 2, ("WE", "MO"), count=10),
            manila(2026, 1, 5, 9),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10",
        ),
        (Rule("weekly"), manila(2026, 1, 5, 9), "FREQ=WEEKLY"),
        (Rule("monthly", monthly_by="weekday"), manila(2026, 1, 13, 9), "FREQ=MONTHLY;BYDAY=2TU"),
        (
            Rule("yearly", until=date(2030, 1, 1)),
            date(2026, 3, 15),
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;UNTIL=20300101",
        ),
        (Rule("weekly", until=date(2026, 1, 5)), manila(2026, 1, 5, 9), "FREQ=WEEKLY;UNTIL=20260105T155959Z"),
    ],
)
def test_to_rrule_writes(rule, start, expected):
    assert to_rrule(rule, start) == expected


@pytest.mark.parametrize(
    "rule, field, message",
    [
        (Rule("hourly"), "freq", "Choose how often it repeats: daily, weekly, monthly or yearly."),
        (Rule("Weekly"), "freq", "Choose how often it repeats: daily, weekly, monthly or yearly."),
        (Rule("daily", interval=0), "interval", "The interval must be a whole number from 1 to 366."),
        (Rule("daily", interval=367), "interval", "The interval must be a whole number from 1 to 366."),
        (Rule("daily", interval="2"), "interval", "The interval must be a whole number from 1 to 366."),
        (Rule("daily", interval=True), "interval", "The interval must be a whole number from 1 to 366."),
        (Rule("weekly", weekdays=("MO", "XX")), "weekdays", "Unknown day of the week 'XX': use MO, TU, WE, TH, FR, SA or SU."),
        (Rule("weekly", weekdays="MO"), "weekdays", "Choose the days of the week from Monday to Sunday."),
        (Rule("weekly", weekdays=("TU", "WE")), "weekdays", "The days must include Monday, the day of the first occurrence."),
        (Rule("daily", weekdays=("MO",)), "weekdays", "Days of the week can only be chosen for a weekly repeat."),
        (Rule("monthly", monthly_by="week"), "monthly_by",
         "Choose whether it repeats on the same day or the same weekday of the month."),
        (Rule("monthly", nth=1), "monthly_by", "A week of the month can only be chosen when it repeats by weekday."),
        (Rule("weekly", monthly_by="weekday"), "monthly_by",
         "Repeating by weekday of the month needs a monthly or yearly repeat."),
        (Rule("monthly", monthly_by="weekday", nth=5), "monthly_by",
         "The first occurrence is on the first Monday of its month, so it can repeat on the first Monday."),
        (Rule("monthly", monthly_by="weekday", nth=-1), "monthly_by",
         "The first occurrence is on the first Monday of its month, so it can repeat on the first Monday."),
        (Rule("daily", count=0), "count", "The number of times must be a whole number from 1 to 1000."),
        (Rule("daily", count=1001), "count", "The number of times must be a whole number from 1 to 1000."),
        (Rule("daily", until=date(2026, 1, 4)), "until", "The end date 4 Jan 2026 is before the first day, 5 Jan 2026."),
        (Rule("daily", until=manila(2026, 2, 1)), "until", "The end date must be a date."),
        (Rule("daily", count=3, until=date(2026, 2, 1)), "until",
         "Choose either a number of times or an end date, not both."),
    ],
)  # fmt: skip
def test_rule_errors_name_the_field_and_say_why(rule, field, message):
    with pytest.raises(RuleError) as caught:
        to_rrule(rule, manila(2026, 1, 5, 9))  # the first Monday of January 2026
    assert (caught.value.field, str(caught.value)) == (field, message)
    assert isinstance(caught.value, ValueError)


def test_a_fifth_weekday_rule_needs_a_start_on_a_fifth_weekday():
    with pytest.raises(RuleError) as caught:
        to_rrule(Rule("monthly", monthly_by="weekday", nth=5), date(2026, 1, 27))  # the fourth and last Tuesday
    assert caught.value.field == "monthly_by"
    assert str(caught.value) == (
        "The first occurrence is on the fourth Tuesday of its month, so it can repeat on the fourth Tuesday or the last"
        " Tuesday."
    )
    assert to_rrule(Rule("monthly", monthly_by="weekday", nth=-1), date(2026, 1, 27)) == "FREQ=MONTHLY;BYDAY=-1TU"


@pytest.mark.parametrize(
    "text, start, expected",
    [
        ("RRULE:FREQ=WEEKLY;BYDAY=WE,MO,MO", manila(2026, 1, 5, 9), Rule("weekly", weekdays=("MO", "WE"))),
        ("freq=daily;interval=3;", manila(2026, 1, 5, 9), Rule("daily", interval=3)),
        ("FREQ=MONTHLY", manila(2026, 1, 31, 9), Rule("monthly")),
        ("FREQ=MONTHLY;BYDAY=+2TU", manila(2026, 1, 13, 9), Rule("monthly", monthly_by="weekday", nth=2)),
        ("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), Rule("monthly", monthly_by="weekday", nth=-1)),
        ("FREQ=YEARLY;BYMONTH=6;BYDAY=2TU", manila(2026, 6, 9, 9), Rule("yearly", monthly_by="weekday", nth=2)),
        ("FREQ=YEARLY;BYMONTH=6", manila(2026, 6, 9, 9), Rule("yearly")),
        ("FREQ=DAILY;UNTIL=20260110", manila(2026, 1, 5, 9), Rule("daily", until=date(2026, 1, 10))),
        ("FREQ=DAILY;UNTIL=20260110T010000Z", manila(2026, 1, 5, 9), Rule("daily", until=date(2026, 1, 10))),
        ("FREQ=DAILY;UNTIL=20260110T005959Z", manila(2026, 1, 5, 9), Rule("daily", until=date(2026, 1, 9))),
        ("FREQ=DAILY;UNTIL=20260110T090000", manila(2026, 1, 5, 9), Rule("daily", until=date(2026, 1, 10))),
        ("FREQ=DAILY;UNTIL=20260109T160000Z", date(2026, 1, 5), Rule("daily", until=date(2026, 1, 10))),
    ],
)
def test_from_rrule_reads_reasonable_values(text, start, expected):
    assert from_rrule(text, start) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "RRULE:",
        "INTERVAL=2",
        "FREQ=SOMETIMES",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=two",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=DAILY;COUNT=2;UNTIL=20260201",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;COLOR=RED",
        "FREQ=DAILY;UNTIL=20260231",
        "FREQ=DAILY;UNTIL=tomorrow",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=MONTHLY;BYDAY=54MO",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=WEEKLY;WKST=XX",
        "FREQ=DAILY;INTERVAL",
    ],
)
def test_unreadable_values_are_refused_with_the_rrule_field(text):
    with pytest.raises(RuleError) as caught:
        from_rrule(text, manila(2026, 1, 5, 9))
    assert caught.value.field == "rrule"
    with pytest.raises(RuleError):
        describe(text, manila(2026, 1, 5, 9))


@pytest.mark.parametrize(
    "text, start, reason",
    [
        ("FREQ=MONTHLY;BYMONTHDAY=15", manila(2026, 1, 5, 9), "other than the day of the first occurrence"),
        ("FREQ=MONTHLY;BYDAY=2WE", manila(2026, 1, 13, 9), "other than the weekday of the first occurrence"),
        ("FREQ=MONTHLY;BYDAY=3TU", manila(2026, 1, 13, 9), "so it can repeat on the second Tuesday"),
        ("FREQ=DAILY;INTERVAL=400", manila(2026, 1, 5, 9), "from 1 to 366"),
        ("FREQ=DAILY;COUNT=1001", manila(2026, 1, 5, 9), "from 1 to 1000"),
        ("FREQ=DAILY;UNTIL=20260101", manila(2026, 1, 5, 9), "before the first day"),
    ],
)
def test_values_out_of_step_with_the_start_are_refused(text, start, reason):
    with pytest.raises(RuleError) as caught:
        from_rrule(text, start)
    assert caught.value.field == "rrule"
    assert reason in str(caught.value)


@st.composite
def rules_and_starts(draw, max_interval=366, max_count=1000, until_within_days=20 * 366):
    """A valid Rule and a start (a date, or a datetime in Manila or another zone)."""
    day = draw(st.dates(date(2000, 1, 1), date(2040, 12, 31)))
    if draw(st.booleans()):
        start = day
    else:
        moment = datetime.combine(day, draw(st.times()).replace(microsecond=0), tzinfo=MANILA)
        start = moment.astimezone(draw(st.sampled_from([MANILA, UTC, ZoneInfo("America/New_York")])))
    freq = draw(st.sampled_from(FREQUENCIES))
    weekdays = ()
    if freq == "weekly":
        chosen = draw(st.sets(st.sampled_from(WEEKDAYS)))
        if chosen:
            weekdays = tuple(weekday for weekday in WEEKDAYS if weekday in chosen | {WEEKDAYS[day.weekday()]})
    monthly_by, nth = "day", None
    if freq in ("monthly", "yearly") and draw(st.booleans()):
        monthly_by = "weekday"
        nth = draw(st.sampled_from([None] + [option for option, _label in nth_weekday_options(day)]))
    ending = draw(st.sampled_from(["open", "count", "until"]))
    count = draw(st.integers(1, max_count)) if ending == "count" else None
    until = day + timedelta(days=draw(st.integers(0, until_within_days))) if ending == "until" else None
    interval = draw(st.integers(1, max_interval))
    return Rule(freq, interval, weekdays, monthly_by, nth, count, until), start


def with_nth_filled(rule, start):
    """The rule from_rrule gives back: an nth left to the start written out."""
    if rule.monthly_by == "weekday" and rule.nth is None:
        local_day = start.astimezone(MANILA).date() if isinstance(start, datetime) else start
        return replace(rule, nth=(local_day.day - 1) // 7 + 1)
    return rule


@settings(max_examples=400, deadline=None)
@given(rules_and_starts())
def test_to_rrule_and_from_rrule_round_trip(rule_and_start):
    rule, start = rule_and_start
    text = to_rrule(rule, start)
    back = from_rrule(text, start)
    assert back == with_nth_filled(rule, start)
    assert to_rrule(back, start) == text
    assert describe(text, start).startswith("Every ")


def one_hour_or_day(start):
    return start + (HOUR if isinstance(start, datetime) else timedelta(days=1))


@settings(max_examples=200, deadline=None)
@given(rules_and_starts(max_interval=3, max_count=40, until_within_days=300))
def test_occurrences_follow_the_rule(rule_and_start):
    rule, start = rule_and_start
    found = [first for first, _end in occurrences(start, one_hour_or_day(start), to_rrule(rule, start), limit=400)]
    local = start.astimezone(MANILA) if isinstance(start, datetime) else start
    assert found[0] == local  # the start is always the first occurrence
    assert found == sorted(set(found))
    days = [moment.date() if isinstance(moment, datetime) else moment for moment in found]
    if isinstance(start, datetime):
        assert {moment.timetz() for moment in found} == {local.timetz()}
    if rule.count is not None:
        assert len(found) == rule.count
    if rule.until is not None:
        assert days[-1] <= rule.until
        open_ended = to_rrule(replace(rule, until=None), start)
        through_until = occurrences(
            start, one_hour_or_day(start), open_ended, window_end=rule.until + timedelta(days=1)
        )
        assert [first for first, _end in through_until] == found
    if rule.freq == "weekly":
        assert {WEEKDAYS[day.weekday()] for day in days} <= set(rule.weekdays or (WEEKDAYS[days[0].weekday()],))
    elif rule.freq in ("monthly", "yearly") and rule.monthly_by == "day":
        assert {day.day for day in days} == {days[0].day}
    elif rule.freq in ("monthly", "yearly"):
        assert {day.weekday() for day in days} == {days[0].weekday()}


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "FREQ=DAILY",
            "FREQ=DAILY;INTERVAL=3",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
            "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,TU,SA",
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,1MO",
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-2",
            "FREQ=YEARLY;INTERVAL=2;BYMONTH=2,8",
            "FREQ=YEARLY;BYWEEKNO=1,52;BYDAY=MO",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=HOURLY;INTERVAL=7",
            "FREQ=MINUTELY;INTERVAL=997",
            "FREQ=DAILY;BYHOUR=8,20",
            "FREQ=DAILY;UNTIL=20310101T000000Z",
        ]
    ),  # fmt: skip
    st.datetimes(datetime(2000, 1, 1), datetime(2030, 12, 31), timezones=st.just(MANILA)),
    st.integers(0, 3000),
    st.integers(1, 400),
    st.integers(0, 30 * 24),
)
def test_a_window_gives_the_same_occurrences_as_filtering_everything(rrule, start, offset_days, span_days, hours):
    """Expansion that skips to the window agrees with expanding from the start and filtering."""
    start = start.replace(microsecond=0)
    end = start + timedelta(hours=hours)
    window_start = start + timedelta(days=offset_days)
    window_end = window_start + timedelta(days=span_days)
    everything = occurrences(start, end, rrule, window_end=window_end, limit=10**6)
    expected = [(first, last) for first, last in everything if last > window_start or first >= window_start]
    assert occurrences(start, end, rrule, window_start=window_start, window_end=window_end, limit=10**6) == expected


# ---------------------------------------------------------------------------------------------------------------
# describe
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rrule, start, sentence",
    [
        (None, manila(2026, 1, 5, 9), "Once"),
        ("FREQ=DAILY", manila(2026, 1, 5, 9), "Every day"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=1", manila(2026, 1, 5, 9), "Every 3 days, once"),
        ("FREQ=WEEKLY", manila(2026, 1, 5, 9), "Every week on Monday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", manila(2026, 1, 5, 9), "Every 2 weeks on Monday and Wednesday"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=10", manila(2026, 1, 5, 9), "Every week on Monday, Wednesday and Friday, 10 times"),
        ("FREQ=MONTHLY;BYMONTHDAY=31", manila(2026, 1, 31, 9), "Every month on day 31"),
        ("FREQ=MONTHLY;INTERVAL=3", date(2026, 1, 15), "Every 3 months on day 15"),
        ("FREQ=MONTHLY;BYDAY=2TU", manila(2026, 1, 13, 9), "Every month on the second Tuesday"),
        ("FREQ=MONTHLY;BYDAY=-1FR", date(2026, 1, 30), "Every month on the last Friday"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", date(2024, 2, 29), "Every year on 29 February"),
        ("FREQ=YEARLY;INTERVAL=2", date(2026, 12, 1), "Every 2 years on 1 December"),
        ("FREQ=DAILY;UNTIL=20261231T155959Z", manila(2026, 1, 5, 9), "Every day, until 31 Dec 2026"),
        ("FREQ=WEEKLY;UNTIL=20260301", date(2026, 1, 5), "Every week on Monday, until 1 Mar 2026"),
    ],
)  # fmt: skip
def test_describe(rrule, start, sentence):
    assert describe(rrule, start) == sentence


# ---------------------------------------------------------------------------------------------------------------
# split_before ("this and following")
# ---------------------------------------------------------------------------------------------------------------


def test_split_before_with_count_reduces_the_count_of_the_new_series():
    start = manila(2026, 1, 5, 9)
    rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10"
    earlier, following = split_before(rrule, start, manila(2026, 1, 19, 9))
    assert earlier == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20260118T155959Z"
    assert following == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=8"
    original = starts(start, rrule)
    assert starts(start, earlier) + starts(manila(2026, 1, 19, 9), following) == original


def test_split_before_with_until_keeps_the_until():
    start = date(2026, 1, 31)
    rrule = "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20261231"
    earlier, following = split_before(rrule, start, date(2026, 7, 31))
    assert (earlier, following) == (
        "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20260730",
        "FREQ=MONTHLY;BYMONTHDAY=31;UNTIL=20261231",
    )
    assert starts(start, earlier) + starts(date(2026, 7, 31), following) == starts(start, rrule)
    assert starts(start, earlier)[-1] == date(2026, 5, 31)


def test_split_before_the_first_occurrence_leaves_nothing_before_it():
    start = manila(2026, 1, 5, 9)
    assert split_before("RRULE:FREQ=DAILY;COUNT=3", start, start) == (None, "FREQ=DAILY;COUNT=3")


def test_split_before_an_instant_given_in_another_zone():
    start = manila(2026, 1, 5, 9)
    earlier, following = split_before("FREQ=DAILY", start, datetime(2026, 1, 8, 1, tzinfo=UTC))
    assert (earlier, following) == ("FREQ=DAILY;UNTIL=20260107T155959Z", "FREQ=DAILY")


def test_split_before_something_that_is_not_an_occurrence_is_refused():
    start = manila(2026, 1, 5, 9)
    with pytest.raises(ValueError, match="not an occurrence"):
        split_before("FREQ=DAILY;COUNT=3", start, manila(2026, 1, 6, 10))
    with pytest.raises(ValueError, match="not an occurrence"):
        split_before("FREQ=DAILY;COUNT=3", start, manila(2026, 1, 8, 9))
    with pytest.raises(ValueError, match="not an occurrence"):
        split_before("FREQ=DAILY;COUNT=3", start, manila(2026, 1, 4, 9))
    with pytest.raises(TypeError):
        split_before("FREQ=DAILY;COUNT=3", start, date(2026, 1, 6))
    with pytest.raises(RuleError):
        split_before("FREQ=MONTHLY;BYDAY=-2MO", manila(2026, 1, 19, 9), manila(2026, 2, 16, 9))


@settings(max_examples=200, deadline=None)
@given(rules_and_starts(max_interval=4, max_count=60, until_within_days=120), st.integers(0, 200))
def test_split_before_gives_exactly_the_original_occurrences(rule_and_start, pick):
    rule, start = rule_and_start
    rrule = to_rrule(rule, start)
    original = starts(start, rrule, limit=300)
    occurrence_start = original[pick % len(original)]
    earlier, following = split_before(rrule, start, occurrence_start)
    before = starts(start, earlier, limit=300) if earlier else []
    after = starts(occurrence_start, following, limit=300)
    assert (before + after)[:300] == original
    assert (earlier is None) == (occurrence_start == original[0])
    assert from_rrule(following, occurrence_start).until == rule.until


@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=3;COUNT=40", "FREQ=WEEKLY;COUNT=52", "FREQ=WEEKLY;INTERVAL=2",
                                  "FREQ=WEEKLY;BYDAY=TU;UNTIL=20270301T000000Z", "FREQ=MONTHLY;COUNT=30",
                                  "FREQ=MONTHLY;INTERVAL=5;UNTIL=20300101", "FREQ=DAILY;UNTIL=20261231T090000"])
def test_periodic_rules_expand_by_arithmetic_exactly_like_dateutil(rule):
    """The arithmetic path (_periodic) gives what dateutil gives, in every window."""
    first = datetime(2026, 3, 17, 9, 30, tzinfo=MANILA)
    recur = recurrence._parse(rule)
    assert recurrence._is_periodic(recur, first.replace(tzinfo=None))
    reference = list(recurrence._dateutil_rule(recur, first.replace(tzinfo=None)))[:400]
    for offset in range(-40, 1200, 37):
        lower = first + timedelta(days=offset)
        found = recurrence.occurrences(first, first + timedelta(hours=2), rule, (), lower, lower + timedelta(days=45))
        expected = [start for start in reference
                    if lower.replace(tzinfo=None) - timedelta(hours=2) < start < (lower + timedelta(days=45)).replace(tzinfo=None)]
        assert [start.replace(tzinfo=None) for start, _ in found] == expected, (rule, offset)
