"""A campaign as a coordinator writes it: the form (or JSON) checked into a ``CampaignInput``,
with the slug, dates, goals, asks, agenda and discussion guide each validated, and the
form's values back from a saved campaign."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from kit.campaigns.service import MAX_ASKS_SHOWN
from kit.core import validation as v
from kit.core.errors import ValidationError
from kit.store.models import Campaign
from kit.toolkit.markdown import GuideTooLongError, check_guide_markdown

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
ASK_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_AGENDA_ITEMS, MAX_MINUTES = 30, 240
UNSTORABLE = "it contains a character we can't store (a NUL byte or a broken emoji). Retype it."
GOALS = {
    "meetings": "The meetings goal",
    "people": "The people goal",
    "commitments": "The commitments goal",
}


@dataclasses.dataclass(frozen=True)
class CampaignInput:
    slug: str
    name: str
    description: str
    starts_on: date | None
    ends_on: date | None
    guide_markdown: str
    agenda: list[dict[str, object]]
    asks: list[dict[str, str]]
    goals: dict[str, int]
    requires_approval: bool
    is_public: bool

    def as_fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_campaign_input(raw: Mapping[str, Any]) -> CampaignInput:
    """A campaign from the coordinators' form (or a JSON body), with every problem at once.

    Agenda and asks come as text, one item a line (``Welcome and introductions | 10``,
    ``host | Host a meeting``), or as lists of objects.
    """
    flat = v.flatten(raw)
    p: v.Problems = {}
    slug = v.text(flat, "slug", p, label="A web address", max_length=64, required=True).lower()
    if slug and "slug" not in p and not SLUG_RE.match(slug):
        p["slug"] = "Use lowercase letters, digits and dashes, like winter-2026."
    starts_on = _date(flat, "starts_on", p, "The start date")
    ends_on = _date(flat, "ends_on", p, "The end date")
    if starts_on and ends_on and ends_on < starts_on:
        p["ends_on"] = "The end date is before the start date."
    goals = {
        key: v.integer(flat, f"goals.{key}", p, label=label, default=0, minimum=0, maximum=10**7)
        for key, label in GOALS.items()
    }
    data = CampaignInput(
        slug=slug,
        name=v.text(flat, "name", p, label="A name", max_length=200, required=True),
        description=v.text(
            flat, "description", p, label="The description", max_length=5000, multiline=True
        ),
        starts_on=starts_on,
        ends_on=ends_on,
        guide_markdown=_guide(flat, p),
        agenda=_agenda(raw.get("agenda"), p),
        asks=_asks(raw.get("asks"), p),
        goals={key: n for key, n in goals.items() if n},
        requires_approval=v.boolean(flat, "requires_approval"),
        is_public=v.boolean(flat, "is_public"),
    )
    if p:
        raise ValidationError(p)
    return data


def _date(raw: Mapping[str, Any], name: str, p: v.Problems, label: str) -> date | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        p[name] = f"{label} must be a date like 2026-12-05."
        return None


def _guide(raw: Mapping[str, Any], p: v.Problems) -> str:
    text = raw.get("guide_markdown") or ""
    if not isinstance(text, str):
        p["guide_markdown"] = "The guide must be text."
        return ""
    if v.UNSTORABLE_RE.search(text):  # refused, not dropped: nobody's text changes silently
        p["guide_markdown"] = f"The guide: {UNSTORABLE}"
        return ""
    try:
        return check_guide_markdown(text.strip())
    except GuideTooLongError as exc:
        p["guide_markdown"] = str(exc)
        return ""


def _lines(value: object, name: str, p: v.Problems) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, list):
        return value
    p[name] = "Write one item a line."
    return []


def _agenda(value: object, p: v.Problems) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for n, item in enumerate(_lines(value, "agenda", p), start=1):
        if isinstance(item, str):
            title, bar, minutes = item.rpartition("|")
            item = {"title": title if bar else minutes, "minutes": minutes if bar else ""}
        if not isinstance(item, dict):
            p["agenda"] = f"Line {n}: write “Title | minutes”."
            break
        title = " ".join(str(item.get("title") or "").split())
        minutes = str(item.get("minutes") or "").strip()
        if v.UNSTORABLE_RE.search(title):  # PostgreSQL's jsonb refuses a NUL, too
            p["agenda"] = f"Line {n}: {UNSTORABLE}"
        elif not title or len(title) > 120:
            p["agenda"] = f"Line {n}: give each item a title of at most 120 characters."
        elif not minutes.isdigit() or not 1 <= int(minutes) <= MAX_MINUTES:
            p["agenda"] = (
                f"Line {n}: end with the minutes it takes (1 to {MAX_MINUTES}): “{title} | 10”."
            )
        if "agenda" in p:
            break
        items.append({"title": title, "minutes": int(minutes)})
    if len(items) > MAX_AGENDA_ITEMS:
        p["agenda"] = f"At most {MAX_AGENDA_ITEMS} agenda items."
    return items


def _asks(value: object, p: v.Problems) -> list[dict[str, str]]:
    asks: list[dict[str, str]] = []
    for n, item in enumerate(_lines(value, "asks", p), start=1):
        if isinstance(item, str):
            key, bar, label = item.partition("|")
            item = {"key": key, "label": label} if bar else {"key": "", "label": key}
        if not isinstance(item, dict):
            p["asks"] = f"Line {n}: write “key | What we ask”."
            break
        label = " ".join(str(item.get("label") or "").split())
        key = (
            str(item.get("key") or "").strip().lower()
            or re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40]
        )
        if v.UNSTORABLE_RE.search(label):
            p["asks"] = f"Line {n}: {UNSTORABLE}"
        elif not label or len(label) > 120:
            p["asks"] = f"Line {n}: give each ask a label of at most 120 characters."
        elif not ASK_KEY_RE.match(key):
            p["asks"] = f"Line {n}: the key “{key}” may use lowercase letters, digits, - and _."
        elif key in {a["key"] for a in asks}:
            p["asks"] = f"Line {n}: the key “{key}” is used twice."
        if "asks" in p:
            break
        asks.append({"key": key, "label": label})
    if len(asks) > MAX_ASKS_SHOWN:  # more would be stored, but never printed nor counted
        p["asks"] = (
            f"The sign-in sheet has room for {MAX_ASKS_SHOWN} asks: keep the ones that "
            "matter most (people remember a few)."
        )
    return asks


def campaign_form_values(campaign: Campaign) -> dict[str, Any]:
    """A stored campaign as the form shows it."""
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "description": campaign.description,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else "",
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else "",
        "guide_markdown": campaign.guide_markdown,
        "agenda": "\n".join(f"{i['title']} | {i['minutes']}" for i in campaign.agenda),
        "asks": "\n".join(f"{a['key']} | {a['label']}" for a in campaign.asks),
        **{f"goals.{k}": campaign.goals.get(k, "") for k in GOALS},
        "requires_approval": "1" if campaign.requires_approval else "",
        "is_public": "1" if campaign.is_public else "",
    }
