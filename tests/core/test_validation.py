"""A host's local time becomes one moment, or a message saying why it can't (kit.core.validation).

The dates are fixed: in_zone reads the wall clock only; whether the moment is still
ahead is checked afterwards (kit.meetings.input.check_times, tests/web/test_local_times.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kit.core import validation as v
from kit.core.errors import ValidationError

NEW_YORK = "America/New_York"


def refusal(typed: str, tz: str, which: str = "", name: str = "starts_at") -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        v.in_zone(datetime.fromisoformat(typed), tz, name, which)
    return caught.value.fields


def test_a_time_the_clocks_skip_is_refused_with_the_two_times_that_exist() -> None:
    assert refusal("2027-03-14T02:30", NEW_YORK) == {
        "starts_at": "2:30 AM doesn't exist on March 14 in this time zone "
        "(clocks jump from 2:00 to 3:00). Pick 1:30 AM or 3:30 AM."
    }
    # Paris and Lord Howe Island (whose clocks move by half an hour) alike.
    assert refusal("2027-03-28T02:30", "Europe/Paris", name="ends_at") == {
        "ends_at": "2:30 AM doesn't exist on March 28 in this time zone "
        "(clocks jump from 2:00 to 3:00). Pick 1:30 AM or 3:30 AM."
    }
    assert (
        "(clocks jump from 2:00 to 2:30). Pick 1:45 AM or 2:45 AM."
        in (refusal("2027-10-03T02:15", "Australia/Lord_Howe")["starts_at"])
    )


def test_a_skipped_time_is_refused_even_with_a_choice_of_first_or_second() -> None:
    assert "doesn't exist" in refusal("2027-03-14T02:30", NEW_YORK, "second")["starts_at"]


def test_a_jump_across_midnight_says_which_day() -> None:
    # Santiago springs forward at midnight: 12:30 AM doesn't exist, 11:30 PM the day before does.
    assert refusal("2027-09-05T00:30", "America/Santiago")["starts_at"] == (
        "12:30 AM doesn't exist on September 5 in this time zone (clocks jump from "
        "12:00 AM to 1:00 AM). Pick 11:30 PM on September 4 or 1:30 AM."
    )


def test_a_time_the_clocks_show_twice_asks_which_one() -> None:
    assert refusal("2027-11-07T01:30", NEW_YORK) == {
        "starts_at": "1:30 AM happens twice on November 7 in this time zone "
        "(clocks go back from 2:00 to 1:00). Which one do you mean: the first (EDT) "
        "or the second (EST)?",
        "starts_at_fold": "Choose the first 1:30 AM (EDT) or the second (EST).",
    }
    # A zone with no letters for its offsets says them as UTC offsets.
    assert refusal("2027-04-04T01:45", "Australia/Lord_Howe")["starts_at_fold"] == (
        "Choose the first 1:45 AM (UTC+11) or the second (UTC+10:30)."
    )


@pytest.mark.parametrize(
    ("which", "utc"),
    [
        ("first", datetime(2027, 11, 7, 5, 30, tzinfo=UTC)),  # 1:30 EDT
        ("second", datetime(2027, 11, 7, 6, 30, tzinfo=UTC)),  # 1:30 EST
    ],
)
def test_the_first_or_the_second_picks_that_moment(which: str, utc: datetime) -> None:
    assert v.in_zone(datetime(2027, 11, 7, 1, 30), NEW_YORK, "starts_at", which) == utc


def test_an_ordinary_time_is_converted_and_a_choice_is_ignored() -> None:
    expected = datetime(2027, 6, 1, 22, 30, tzinfo=UTC)
    for which in ("", "first", "second"):
        assert v.in_zone(datetime(2027, 6, 1, 18, 30), NEW_YORK, "starts_at", which) == expected


def test_an_explicit_offset_is_kept_even_in_the_repeated_hour() -> None:
    typed = datetime.fromisoformat("2027-11-07T01:30-05:00")
    assert v.in_zone(typed, NEW_YORK) == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "tz", "clamped"),
    [
        # Year 10000 in UTC, and year 0: no datetime holds them (OverflowError before).
        ("9999-12-31T23:30", NEW_YORK, datetime.max),
        ("0001-01-01T00:30", "Asia/Tokyo", datetime.min),
        ("0001-01-01T00:00+05:00", NEW_YORK, datetime.min),
    ],
)
def test_a_moment_past_the_calendars_end_is_clamped_for_the_window_check_to_refuse(
    typed: str, tz: str, clamped: datetime
) -> None:
    assert v.in_zone(datetime.fromisoformat(typed), tz) == clamped.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "fold"),
    [
        (datetime(2027, 11, 7, 5, 30, tzinfo=UTC), "first"),
        (datetime(2027, 11, 7, 6, 30, tzinfo=UTC), "second"),
        (datetime(2027, 11, 7, 8, 30, tzinfo=UTC), ""),  # 3:30 AM: only once
    ],
)
def test_a_stored_moment_says_which_of_a_repeated_time_it_is(utc: datetime, fold: str) -> None:
    assert v.fold_of(utc.astimezone(ZoneInfo(NEW_YORK))) == fold


@pytest.mark.parametrize("sent", ["both", "2", ["first"], {"a": 1}, True])
def test_a_choice_other_than_first_or_second_is_a_field_problem(sent: object) -> None:
    problems: v.Problems = {}
    assert v.fold({"starts_at_fold": sent}, "starts_at_fold", problems) == ""
    assert problems == {"starts_at_fold": "Choose “first” or “second”."}
