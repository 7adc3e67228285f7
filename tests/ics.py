"""Read every .ics the kit emits with two independent parsers: icalendar, and
Mozilla's ical.js (Thunderbird's parser) through node."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

TOOLKIT = Path(__file__).parent / "toolkit"
ICALJS = TOOLKIT / "icaljs_parse.mjs"


@dataclass(frozen=True)
class ParsedIcs:
    calendar: Calendar  # icalendar's reading
    js: dict[str, Any]  # ical.js's reading

    @property
    def method(self) -> str | None:
        assert self.js["method"] == (
            str(self.calendar["METHOD"]) if "METHOD" in self.calendar else None
        )
        return self.js["method"]

    @property
    def events(self) -> list[dict[str, Any]]:
        assert len(self.js["events"]) == len(self.calendar.walk("VEVENT"))
        return self.js["events"]


def parse_ics(ics: bytes) -> ParsedIcs:
    node = shutil.which("node")
    if node is None or not (TOOLKIT / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is missing: run ./scripts/setup --test")
    calendar = Calendar.from_ical(ics)
    broken = [(c.name, c.errors) for c in calendar.walk() if c.errors]
    assert not broken, f"icalendar found broken values: {broken}"
    assert calendar.get_missing_tzids() == set(), "a TZID without its VTIMEZONE"
    run = subprocess.run(
        [node, str(ICALJS)], input=ics, capture_output=True, cwd=TOOLKIT, timeout=60, check=False
    )
    assert run.returncode == 0, f"ical.js could not read the file:\n{run.stderr.decode()}"
    return ParsedIcs(calendar, json.loads(run.stdout))
