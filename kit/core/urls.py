"""Every absolute link the kit sends out (emails, PDFs, feeds, JSON): the one place that
knows the paths. Plain values in (the site's base URL, ids, slugs, tokens), strings out;
nothing of the kit is imported. tests/core/test_urls.py proves each one resolves to its route."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode

# What quote() leaves alone in a segment anyway: ids and urlsafe tokens, checked faster
# than quote() walks them (a search's 20 links).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _part(value: str) -> str:
    """One path segment: ids and urlsafe tokens pass through unchanged."""
    return value if _UNRESERVED.fullmatch(value) else quote(value, safe="")


def meeting(base_url: str, public_id: str, query: Mapping[str, str] | None = None) -> str:
    """The meeting's page; ``query`` carries a host's referral code and where it was shared."""
    page = f"{base_url}/meetings/{_part(public_id)}"
    return f"{page}?{urlencode(query)}" if query else page


def meeting_short(base_url: str, public_id: str) -> str:
    """The short link printed on flyers (/m/{id})."""
    return f"{base_url}/m/{_part(public_id)}"


def manage(base_url: str, public_id: str, token: str) -> str:
    return f"{base_url}/manage/{_part(public_id)}?{urlencode({'token': token})}"


def host_confirm(base_url: str, token: str) -> str:
    return f"{base_url}/hosts/confirm/{_part(token)}"


def manage_recover(base_url: str) -> str:
    return f"{base_url}/manage/recover"


def report_form(base_url: str, public_id: str, token: str) -> str:
    return f"{base_url}/manage/{_part(public_id)}/report?{urlencode({'token': token})}"


def rsvp_manage(base_url: str, token: str) -> str:
    return f"{base_url}/rsvp/{_part(token)}"


def unsubscribe(base_url: str, token: str) -> str:
    return f"{base_url}/unsubscribe/{_part(token)}"


def person_feed(base_url: str, token: str) -> str:
    return f"{base_url}/feeds/{_part(token)}.ics"


def campaign(base_url: str, slug: str) -> str:
    return f"{base_url}/campaigns/{_part(slug)}"


def campaign_feed(base_url: str, slug: str) -> str:
    return f"{base_url}/campaigns/{_part(slug)}/meetings.ics"


def idea_confirm(base_url: str, token: str) -> str:
    return f"{base_url}/ideas/confirm/{_part(token)}"


def coordinator_signin(base_url: str, token: str) -> str:
    return f"{base_url}/coordinators/signin/{_part(token)}"


def find(base_url: str, query: Mapping[str, str]) -> str:
    return f"{base_url}/find?{urlencode(query)}"


def host_form(base_url: str, query: Mapping[str, str]) -> str:
    return f"{base_url}/host?{urlencode(query)}"
