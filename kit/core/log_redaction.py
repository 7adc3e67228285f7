"""Secret links kept out of the logs.

A host's manage link (``/manage/ID?token=…``), a guest's RSVP link (``/rsvp/TOKEN``), a
private calendar feed (``/feeds/TOKEN.ics``), unsubscribe, sign-in and confirmation links
are keys: whoever reads one in a log file can act as its owner. uvicorn's access log
writes the path and query of every request, so ``RedactSecrets`` (a logging filter on
``kit serve``'s handlers) rewrites them first, and the same rule cleans any other line
that quotes a path (the kit's own one-line warnings during a database outage do).

The rule follows the route table (kit/web/routes.py): the path segment after each prefix
in ``SECRET_PREFIXES``, and the value of every ``token`` query parameter. Paths are
matched as the router matches them, percent-decoded, so ``/%72svp/TOKEN`` is caught too.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote, unquote_plus

REDACTED = "[redacted]"
# Routes whose next path segment is a secret token.
SECRET_PREFIXES = (
    "rsvp",
    "feeds",
    "unsubscribe",
    "coordinators/signin",
    "ideas/confirm",
    "hosts/confirm",
)
SECRET_PARAMS = frozenset({"token"})

_PREFIXES = "|".join(re.escape(p) for p in SECRET_PREFIXES)
# In a path: the segment, and a feed's ``.ics`` kept so the line still says what it was.
_IN_PATH = re.compile(rf"/({_PREFIXES})/([^/?#]+?)(\.ics)?(?=[/?#]|$)")
# In free text: the same, ending where a path would end in a sentence or a quote.
_IN_TEXT = re.compile(rf"/({_PREFIXES})/([^/?#\s\"'<>]+?)(\.ics)?(?=[/?#\s\"'<>]|$)")
_PARAM_IN_TEXT = re.compile(r"\b(token)=([^&\s\"'<>#]+)", re.IGNORECASE)
# Left as they are when a redacted path is quoted again for the log.
_SAFE = "/[]!$&'()*+,;=:@-._~"


def _segment(match: re.Match[str]) -> str:
    return f"/{match.group(1)}/{REDACTED}{match.group(3) or ''}"


def redact_path(path: str) -> str:
    """A request path (raw, as uvicorn logs it) with any secret segment replaced."""
    decoded = unquote(path)
    if not _IN_PATH.search(decoded):
        return path
    # Quoted again, so a decoded newline or quote can't forge a line of the log.
    return quote(_IN_PATH.sub(_segment, decoded), safe=_SAFE)


def redact_query(query: str) -> str:
    """``a=1&token=abc`` → ``a=1&token=[redacted]``; names are read as the app reads them."""
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        secret = eq and (
            unquote_plus(name).strip().lower() in SECRET_PARAMS
            # A secret link passed along as a value (?next=/rsvp/TOKEN) is one too.
            or _IN_TEXT.search(unquote_plus(value)) is not None
        )
        parts.append(f"{name}={REDACTED}" if secret else part)
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request target, ``/path?query``, with every secret replaced."""
    path, sep, query = target.partition("?")
    return redact_path(path) + (sep + redact_query(query) if sep else "")


def redact_text(text: str) -> str:
    """Any log message that may quote a path with its secrets."""
    text = _IN_TEXT.sub(_segment, text)
    return _PARAM_IN_TEXT.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Rewrites records in place: uvicorn's access lines by their request target (the
    access formatter reads the record's arguments), any other line by its text."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            record.args = (args[0], args[1], redact_target(str(args[2])), *args[3:])
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
