"""Rate limits applied at the door, per client address (and per meeting for RSVPs).

The counters live in the database (kit.store.ratelimit), so every worker process shares them.
The client address is the one uvicorn reports: the address that connected, unless it is
a proxy the operator listed (KIT_FORWARDED_ALLOW_IPS or ``--forwarded-allow-ips``), whose
X-Forwarded-For then names the client. By default no proxy is listed, so a client can't
choose its own address by sending the header.
"""

from __future__ import annotations

from starlette.requests import Request

from kit.core.settings import Limit
from kit.store.models import Meeting
from kit.store.ratelimit import hit

RSVP_MESSAGE = "Too many RSVPs in a short time. Please wait a moment and try again."
PUBLISH_MESSAGE = (
    "Many meetings were published from your connection recently. Please wait a while "
    "before publishing another, or write to the campaign's coordinators."
)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_rsvps(request: Request, meeting: Meeting) -> None:
    """Per client, and per meeting (ten times the client limit) against floods."""
    limit: Limit = request.app.state.settings.rate_limit_rsvp
    await hit(f"rsvp:ip:{client_ip(request)}", limit, message=RSVP_MESSAGE)
    await hit(
        f"rsvp:meeting:{meeting.id}", Limit(limit.hits * 10, limit.seconds), message=RSVP_MESSAGE
    )


async def limit_publishing(request: Request) -> None:
    """Meetings one client may publish (KIT_RATE_LIMIT_HOST), form and API together."""
    limit: Limit = request.app.state.settings.rate_limit_host
    await hit(f"host:ip:{client_ip(request)}", limit, message=PUBLISH_MESSAGE)


REPORT_MESSAGE = (
    "This report has been saved many times in a short while. Please wait a few minutes "
    "and save it again."
)
# A host files once and fixes a few typos: 10 saves of one meeting's report an hour. A
# campaign office typing in a stack of paper sign-in sheets from one connection saves
# about one a minute: 60 an hour per client. What a filing may email is capped on its
# own (kit.reports.service), so these bound the writes, and the meetings one client reports.
REPORT_PER_MEETING = Limit(10, 3600)
REPORT_PER_CLIENT = Limit(60, 3600)


async def limit_reports(request: Request, meeting: Meeting) -> None:
    """Report filings, form and API together, per meeting and per client. Called once
    the report is valid: fixing typos is free."""
    await hit(f"report:ip:{client_ip(request)}", REPORT_PER_CLIENT, message=REPORT_MESSAGE)
    await hit(f"report:meeting:{meeting.id}", REPORT_PER_MEETING, message=REPORT_MESSAGE)
