"""Printed documents: the host packet, the flyer and the discussion guide, as PDF.

Each document is built in two steps. ``*_document()`` fills a Jinja2 template
from ``pdf_templates/`` (cheap: a few milliseconds) and returns a ``Document``,
whose HTML (with the stylesheet and the page repeats) is exactly what drives the
PDF, so its SHA-256 is a cache key. ``html_to_pdf()`` lays it out with WeasyPrint
(expensive and CPU-bound; WeasyPrint is not thread-safe, so renders take a lock).
``render()`` does both, for the CLI, tests and benchmarks; the web goes through
``kit.printables.context``, which adds the cache and the worker thread.

A leaf: it imports nothing of the kit. Documents are filled from plain frozen
dataclasses (``PrintableMeeting``, ``PrintableCampaign``, ``Place``, ``AgendaSlot``)
that ``kit.printables.context`` builds from the models, so the layout is tested without a
database and the privacy rule stays with the meetings.

Speed: ``print.css`` is parsed once per process and fonts are configured once;
the packet's commitment cards are laid out and drawn as one page, which the PDF
then lists again (``Document.repeat_last_page``) instead of laying out identical
pages; the sign-in sheet's rows are blocks over a drawn grid, not a big table.
The packet is laid out in parts, one per section (``_layout_parts``): the cover once,
with its contents' page numbers read from where the other parts put each section
(``target-counter`` laid it out three times), and the parts an RSVP doesn't change
(agenda, guide, cards) kept laid out by the SHA-256 of their HTML (``LAID_OUT``), so a
re-render lays out only the cover and the sign-in sheet. The PDF is the same, byte for
byte, as the packet laid out whole (``render_whole``; tests/printables prove it).

Nothing here fetches anything: the stylesheet is inlined, QR codes and pictures
are ``data:`` URIs, fonts come from fontconfig, and the URL fetcher refuses every
other scheme (an ``http:`` image in a guide is never requested).

Privacy: only ``packet_document`` receives guests' names, the host's full name and
the exact ``address``; no function here gets an email address or a phone number.
The flyer and the guide print the ``location`` they are given, which the kit
builds from the public view of a meeting (a home's locality only).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
import pydyf
import segno
from markupsafe import Markup

from kit.toolkit.markdown import markdown_to_html

if TYPE_CHECKING:  # WeasyPrint itself is imported by the functions that lay out a PDF
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

PDF = "application/pdf"
LETTER_COUNTRIES = frozenset({"US", "CA"})
CARDS_PER_PAGE = 6
MAX_CARD_PAGES = 10
# The sign-in sheet is landscape with 14 mm side margins: its width inside them, in mm.
SIGNIN_WIDTH_MM = {"letter": 279.4 - 28, "A4": 297.0 - 28}
SIGNIN_ROW_MM = 8.5
SIGNIN_ROWS_FIRST_PAGE, SIGNIN_ROWS_PER_PAGE = 16, 19  # under the title; under the header
# Tagged PDF (structure tree, reading order) for screen readers; works with our layouts.
PDF_OPTIONS: dict[str, Any] = {"pdf_tags": True}
# Where a document splits into parts laid out apart (the packet's sections); an HTML
# comment, so the whole document still renders as one (``render_whole``).
PART_BREAK = "<!-- kit:part -->"
LAID_OUT_PARTS = 16  # parts kept laid out (five a packet, ~1.7 MB each), least recently used out


@dataclass(frozen=True)
class Rendered:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Document:
    """A document's print-ready HTML, the file name its PDF goes by, and how many more
    times its last page is repeated (the packet's page of commitment cards)."""

    filename: str
    html: str
    repeat_last_page: int = 0

    @property
    def fingerprint(self) -> str:
        """Everything that drives the PDF: the HTML, the stylesheet, the repeats."""
        digest = hashlib.sha256(self.html.encode())
        digest.update(f"|{self.repeat_last_page}|".encode() + _css_digest())
        return digest.hexdigest()


@dataclass(frozen=True)
class PrintableCampaign:
    """What a printout says of a campaign: its name on every page, its slug in a file name."""

    name: str
    slug: str = ""
    description: str = ""


@dataclass(frozen=True)
class Place:
    """Where a document says the meeting is. The kit decides how exact: the host's packet
    gets the address, the flyer and the guide a home's locality only."""

    locality: str
    region: str = ""
    postal_code: str = ""
    venue: str = ""  # a public place's name ("Harlem Library"); empty for a home
    street: str = ""
    directions: str = ""


@dataclass(frozen=True)
class PrintableMeeting:
    """The facts every printout of a meeting shares, none of them private.

    ``starts_at`` and ``ends_at`` are aware and already in the meeting's own zone
    (``timezone``), so the printed clock and zone abbreviation are the local ones.
    """

    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    country: str
    capacity: int
    host_first_name: str
    is_home: bool = True
    cancelled: bool = False
    description: str = ""
    host_note: str = ""
    campaign: PrintableCampaign | None = None


@dataclass(frozen=True)
class AgendaSlot:
    """One agenda item placed on the clock (``starts_at`` in the meeting's zone)."""

    title: str
    minutes: int
    starts_at: datetime

    @property
    def ends_at(self) -> datetime:
        return _later(self.starts_at, self.minutes)


def _later(local: datetime, minutes: int) -> datetime:
    """Elapsed time, not wall-clock arithmetic: right across a daylight-saving change."""
    return (local.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(local.tzinfo)


def plan_agenda(items: Sequence[tuple[str, int]], start: datetime) -> list[AgendaSlot]:
    """Clock times for each item, one after the other from ``start`` (an aware local time)."""
    slots, clock = [], start
    for title, minutes in items:
        slots.append(AgendaSlot(title, minutes, clock))
        clock = _later(clock, minutes)
    return slots


@dataclass(frozen=True)
class SignInRow:
    name: str = ""  # pre-filled for a confirmed guest
    hint: str = ""  # "guest of Sam" for the people a guest brings


def data_only_fetcher() -> URLFetcher:
    """Fetches ``data:`` URIs only; anything else fails before a socket is opened."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(timeout=1, allowed_protocols={"data"}, allow_redirects=False)


def page_size(country: str) -> str:
    return "letter" if country.upper() in LETTER_COUNTRIES else "A4"


def slugify(text: str, fallback: str = "meeting") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
    return slug or fallback


@lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    """A QR code as an SVG data: URI (vector, so it prints sharp at any size)."""
    return segno.make(url, error="m").svg_data_uri(dark="#000", light="#fff", border=4)


def _clock(value: datetime) -> str:
    return value.strftime("%-I:%M %p")


@cache
def pdf_templates_dir() -> Path:
    """The package's ``pdf_templates`` folder, wherever the kit is installed.

    In the repository it is the top-level ``pdf_templates/`` (``kit/pdf_templates`` is a
    symlink to it); a wheel ships it as package data. Nothing is read at import time.
    """
    return Path(str(files("kit") / "pdf_templates"))


@cache
def print_css() -> str:
    return (pdf_templates_dir() / "print.css").read_text(encoding="utf-8")


@cache
def _css_digest() -> bytes:
    return hashlib.sha256(print_css().encode()).digest()


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(pdf_templates_dir()),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    env.filters["qr"] = qr_data_uri
    return env


def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def _when(meeting: PrintableMeeting) -> dict[str, Any]:
    start, end = meeting.starts_at, meeting.ends_at
    times = f"{_clock(start)} – {_clock(end)} {start:%Z}"
    if end.date() != start.date():
        times = f"{_clock(start)} – {end:%a} {_clock(end)} {start:%Z}"
    return {
        "start": start,
        "end": end,
        "date": start.strftime("%A, %B %-d, %Y"),
        "short_date": start.strftime("%a %b %-d"),
        "times": times,
        "zone": meeting.timezone,
    }


def _page(country: str, title: str, author: str, **context: Any) -> dict[str, Any]:
    return {"page_size": page_size(country), "title": title, "author": author, **context}


def _agenda(slots: Sequence[AgendaSlot], meeting: PrintableMeeting) -> dict[str, Any]:
    total = sum(s.minutes for s in slots)
    info: dict[str, Any] = {"slots": list(slots), "total": total, "ends_at": None, "spare": None}
    if slots:
        info["ends_at"] = slots[-1].ends_at
        info["spare"] = round((meeting.ends_at - slots[-1].ends_at).total_seconds() / 60)
    return info


def signin_rows(names: Sequence[tuple[str, int]], capacity: int) -> list[SignInRow]:
    """Confirmed guests (name, people they bring) first, then blank rows to capacity + 5
    and on to the end of that page."""
    rows: list[SignInRow] = []
    for name, extra in sorted(names, key=lambda n: n[0].casefold()):
        rows.append(SignInRow(name=name))
        first = name.split()[0] if name.split() else name
        rows.extend(SignInRow(hint=f"guest of {first}") for _ in range(extra))
    rows.extend(SignInRow() for _ in range(max(capacity + 5 - len(rows), 0)))
    # Blank rows to the foot of the last page: a page is printed whole anyway, and a
    # page holding a single row looks like a mistake.
    rows.extend(SignInRow() for _ in range(_filled(len(rows)) - len(rows)))
    return rows


def _filled(rows: int) -> int:
    """The rows that fill the pages ``rows`` rows need."""
    if rows <= SIGNIN_ROWS_FIRST_PAGE:
        return SIGNIN_ROWS_FIRST_PAGE
    more = math.ceil((rows - SIGNIN_ROWS_FIRST_PAGE) / SIGNIN_ROWS_PER_PAGE)
    return SIGNIN_ROWS_FIRST_PAGE + more * SIGNIN_ROWS_PER_PAGE


@dataclass(frozen=True)
class SignInGrid:
    """The sign-in sheet's columns (label, width in mm) and the drawing of one row.

    Rows are plain blocks over one SVG background (column rules and tick boxes):
    laid out as a table, 45 rows cost WeasyPrint ~0.4 s of CPU; as blocks, ~0.1 s.
    """

    columns: tuple[tuple[str, str, float], ...]  # (css class, label, width mm)
    row_background: str


@lru_cache(maxsize=32)
def signin_grid(size: str, ask_labels: tuple[str, ...]) -> SignInGrid:
    total, height = SIGNIN_WIDTH_MM[size], SIGNIN_ROW_MM
    # Narrow enough that six asks still get ~16 mm each on Letter (print.css: .sheet-row).
    fixed = [("num", "#", 8.0), ("name", "Name", 60.0), ("email", "Email", 56.0)]
    fixed.append(("phone", "Phone", 32.0))
    ask_width = (total - sum(w for _, _, w in fixed)) / max(len(ask_labels), 1)
    columns = (*fixed, *(("ask", label, ask_width) for label in ask_labels))
    parts, x = [], 0.0
    for n, (cls, _, width) in enumerate(columns):
        if cls == "ask":
            cx = x + width / 2
            parts.append(
                f'<rect x="{cx - 2:.2f}" y="{height / 2 - 2:.2f}" width="4" height="4" '
                'fill="none" stroke="#000" stroke-width="0.32"/>'
            )
        x += width
        if n < len(columns) - 1:
            parts.append(f'<path d="M{x:.2f} 0V{height}" stroke="#999" stroke-width="0.2"/>')
    parts.append(f'<path d="M0 {height - 0.1}H{total}" stroke="#666" stroke-width="0.2"/>')
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}mm" height="{height}mm" '
        f'viewBox="0 0 {total} {height}">{"".join(parts)}</svg>'
    )
    return SignInGrid(columns, "data:image/svg+xml," + quote(svg))


def signin_pages(rows: Sequence[SignInRow]) -> list[tuple[int, list[SignInRow]]]:
    """Rows in page-sized chunks (first row number, rows), so each page gets the header."""
    pages: list[tuple[int, list[SignInRow]]] = []
    start = 0
    while start < len(rows) or not pages:
        size = SIGNIN_ROWS_PER_PAGE if pages else SIGNIN_ROWS_FIRST_PAGE
        pages.append((start + 1, list(rows[start : start + size])))
        start += size
    return pages


def card_pages(capacity: int) -> int:
    """Pages of six commitment cards: one card a seat and five spare, at most ten pages."""
    return min(math.ceil((capacity + 5) / CARDS_PER_PAGE), MAX_CARD_PAGES)


def _dated(prefix: str, meeting: PrintableMeeting) -> str:
    day = meeting.starts_at.strftime("%Y-%m-%d")
    return f"{prefix}-{slugify(meeting.title)}-{day}.pdf"


def packet_document(
    meeting: PrintableMeeting,
    *,
    address: Place,
    host_name: str,
    agenda: Sequence[AgendaSlot],
    guide_markdown: str,
    asks: Sequence[dict[str, str]],
    guests: Sequence[tuple[str, int]],
    meeting_url: str,
    report_url: str,
) -> Document:
    """The host's packet: the exact ``address`` and the host's full name. ``guests``:
    confirmed guests' (name, people they bring along)."""
    pages_of_cards = card_pages(meeting.capacity)
    context = _page(
        meeting.country,
        f"Host packet: {meeting.title}",
        meeting.host_first_name,
        meeting=meeting,
        campaign=meeting.campaign,
        when=_when(meeting),
        cancelled=meeting.cancelled,
        address=address,
        host_name=host_name,
        agenda=_agenda(agenda, meeting),
        guide=Markup(markdown_to_html(guide_markdown)),
        asks=list(asks),
        signin=signin_pages(signin_rows(guests, meeting.capacity)),
        grid=signin_grid(page_size(meeting.country), tuple(a["label"] for a in asks)),
        confirmed_people=sum(1 + extra for _, extra in guests),
        card_pages=pages_of_cards,
        meeting_url=meeting_url,
        report_url=report_url,
        part_break=Markup(PART_BREAK),
    )
    html = _template("packet.html").render(context)
    return Document(_dated("packet", meeting), html, repeat_last_page=pages_of_cards - 1)


def tab_link(url: str) -> tuple[str, str]:
    """A link as a tear-off tab prints it: the site, then the path on a line of its own
    (no scheme: a phone's browser adds it)."""
    site, _, path = url.split("://", 1)[-1].partition("/")
    return site, "/" + path


def flyer_document(
    meeting: PrintableMeeting, *, location: Place, rsvp_url: str, short_url: str
) -> Document:
    """A one-page flyer for neighbors: the public ``location``, no guest ever."""
    context = _page(
        meeting.country,
        f"You're invited: {meeting.title}",
        meeting.host_first_name,
        meeting=meeting,
        campaign=meeting.campaign,
        when=_when(meeting),
        cancelled=meeting.cancelled,
        is_home=meeting.is_home,
        location=location,
        host_first_name=meeting.host_first_name,
        rsvp_url=rsvp_url,
        short_url=short_url,
        tab_link=tab_link(short_url),
    )
    return Document(_dated("flyer", meeting), _template("flyer.html").render(context))


def meeting_guide_document(
    meeting: PrintableMeeting,
    *,
    location: Place,
    agenda: Sequence[AgendaSlot],
    guide_markdown: str,
) -> Document:
    """The discussion guide for one meeting: its agenda on the clock, then the guide, at
    the public ``location``."""
    context = _page(
        meeting.country,
        f"Discussion guide: {meeting.title}",
        meeting.host_first_name,
        heading=meeting.title,
        campaign=meeting.campaign,
        meeting=meeting,
        when=_when(meeting),
        cancelled=meeting.cancelled,
        location=location,
        host_first_name=meeting.host_first_name,
        agenda=_agenda(agenda, meeting),
        guide=Markup(markdown_to_html(guide_markdown)),
    )
    return Document(_dated("guide", meeting), _template("guide.html").render(context))


def campaign_guide_document(
    campaign: PrintableCampaign,
    *,
    agenda: Sequence[tuple[str, int]],
    guide_markdown: str,
    country: str = "US",
) -> Document:
    """A campaign's guide with its agenda in minutes (no meeting, so no clock times)."""
    context = _page(
        country,
        f"Discussion guide: {campaign.name}",
        campaign.name,
        heading=campaign.name,
        campaign=campaign,
        meeting=None,
        when=None,
        cancelled=False,
        location=None,
        host_first_name="",
        agenda={
            "slots": [{"title": t, "minutes": m} for t, m in agenda],
            "total": sum(m for _, m in agenda),
        },
        guide=Markup(markdown_to_html(guide_markdown)),
    )
    filename = f"guide-{slugify(campaign.slug, 'campaign')}.pdf"
    return Document(filename, _template("guide.html").render(context))


# WeasyPrint is imported here, by the first PDF (or ``warm_up``), not with this module: it
# is a third of a web worker's start-up import and 26 MB, and most workers never print.
_RENDER_LOCK = threading.Lock()  # WeasyPrint (and the shared font configuration) per thread
_shared: dict[str, Any] = {}


def _stylesheet() -> tuple[weasyprint.CSS, FontConfiguration]:
    """print.css parsed once, with the one font configuration every render shares."""
    if not _shared:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        css = weasyprint.CSS(string=print_css(), font_config=fonts, url_fetcher=data_only_fetcher())
        _shared.update(css=css, fonts=fonts)
    return _shared["css"], _shared["fonts"]


def html_to_pdf(html: str, *, repeat_last_page: int = 0) -> bytes:
    """Lay out print HTML with WeasyPrint. Blocking and CPU-bound; renders take turns.

    A document with part breaks (the packet) is laid out part by part (``_layout_parts``);
    any other, or one whose cover's page count doesn't settle, in one piece."""
    with _RENDER_LOCK, _collector_paused():
        return _write(_by_parts(html) or _layout(html), repeat_last_page)


def render_whole(html: str, *, repeat_last_page: int = 0) -> bytes:
    """The document laid out in one piece, the contents' page numbers by ``target-counter``
    (the cover laid out three times): what ``html_to_pdf`` must equal page for page."""
    with _RENDER_LOCK, _collector_paused():
        return _write(_layout(html), repeat_last_page)


def _by_parts(html: str) -> weasyprint.Document | None:
    return _layout_parts(html) if PART_BREAK in html else None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while WeasyPrint works, then one young pass.

    A packet allocates a few hundred thousand objects; left on, the collector runs about
    a hundred times in a render and scans the whole heap once or twice (~0.1 s of a
    0.45 s render). Off, the render's own cycles (~50,000 objects) are freed by the one
    ``gc.collect(0)`` after it, here in the render thread."""
    if not gc.isenabled():  # someone else's choice: leave it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _write(document: weasyprint.Document, repeat_last_page: int) -> bytes:
    finisher = _repeat_last_page(repeat_last_page) if repeat_last_page > 0 else None
    return document.write_pdf(finisher=finisher, **PDF_OPTIONS)


def _layout(html: str) -> weasyprint.Document:
    import weasyprint

    css, fonts = _stylesheet()
    source = weasyprint.HTML(
        string=html, base_url=str(pdf_templates_dir()), url_fetcher=data_only_fetcher()
    )
    return source.render(stylesheets=[css], font_config=fonts, **PDF_OPTIONS)


class _LaidOut:
    """Laid-out parts by the SHA-256 of their HTML (with the stylesheet's), least recently
    used out: a packet's agenda, guide and cards don't change when an RSVP comes in."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: OrderedDict[bytes, weasyprint.Document] = OrderedDict()

    def get(self, html: str) -> weasyprint.Document:
        key = hashlib.sha256(html.encode() + _css_digest()).digest()
        if (part := self._parts.get(key)) is not None:
            self._parts.move_to_end(key)
            return part
        self._parts[key] = part = _layout(html)
        while len(self._parts) > self.size:
            self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        self._parts.clear()


LAID_OUT = _LaidOut(LAID_OUT_PARTS)
_CONTENTS_LINK = re.compile(r'<a href="#([\w-]+)">')


def _layout_parts(html: str, laid_out: _LaidOut = LAID_OUT) -> weasyprint.Document | None:
    """The first part (the packet's cover) laid out once, after the others, with the page
    each section starts on written into its contents line: no ``target-counter``, which
    lays the cover out three times. Each later part is its own document whose page
    counter starts where the part before it ended; unchanged parts come laid out from
    ``LAID_OUT``. ``None`` if the cover's own page count never settles."""
    head, *sections = html.split(PART_BREAK)
    end = sections[-1].rindex("</body>")
    sections[-1], tail = sections[-1][:end], sections[-1][end:]
    cover, rest = sections[0], sections[1:]
    cover_pages = 1
    for _ in range(3):
        page, parts = cover_pages + 1, []
        starts: dict[str, int] = {}
        for section in rest:
            counter = f"<style>@page :first {{ counter-set: page {page}; }}</style>"
            part = laid_out.get(head + counter + section + tail)
            for offset, laid in enumerate(part.pages):
                starts.update(dict.fromkeys(set(laid.anchors) - starts.keys(), page + offset))
            parts.append(part)
            page += len(part.pages)
        links = set(_CONTENTS_LINK.findall(cover))
        if not links <= starts.keys():
            return None

        def numbered(link: re.Match[str], starts: dict[str, int] = starts) -> str:
            return f'<a href="#{link[1]}" data-page="{starts[link[1]]}">'

        front = laid_out.get(head + _CONTENTS_LINK.sub(numbered, cover) + tail)
        if len(front.pages) == cover_pages:
            return front.copy([p for part in (front, *parts) for p in part.pages])
        cover_pages = len(front.pages)
    return None


def _repeat_last_page(times: int) -> Callable[[Any, pydyf.PDF], None]:
    """Add the last page ``times`` more, sharing its content stream: drawn once, not N times.

    The copies leave out ``StructParents``: the structure tree (tagged PDF) describes
    the page once, and a screen reader reads the identical copies as artifacts.
    """

    def finish(_document: Any, pdf: pydyf.PDF) -> None:
        last = pdf.objects[pdf.pages["Kids"][-3]]
        for _ in range(times):
            pdf.add_page(pydyf.Dictionary({k: v for k, v in last.items() if k != "StructParents"}))

    return finish


# Every face print.css uses (sans, bold, italic, bold italic, mono), a table, a leader,
# a running footer and an SVG image: the first real document then finds them all loaded.
WARM_UP_HTML = (
    '<html lang="en"><title>warm-up</title><div class="running-footer">kit</div>'
    '<p>House <b>meeting</b> <i>kit</i> <b><i>now</i></b> <span class="url">x.org/a</span></p>'
    '<table class="facts"><tr><th>Where</th><td>Here</td></tr></table>'
    '<nav class="contents"><a href="#w">Warm</a></nav><p id="w"><img src="{qr}" alt=""></p>'
)
WARM_UP_GUIDE = """\
# A guide

Listen *first*, then **ask**. A [link](https://example.org) and `code`.

## Questions

1. What brought you here?
2. What would you change?

> A quote to think about.
"""


def warm_up_html() -> str:
    return WARM_UP_HTML.format(qr=qr_data_uri("https://example.org/warm-up"))


def warm_up_packet() -> Document:
    """A packet of made-up facts that goes where a real one does (templates, Markdown,
    every part, tables, leaders, hyphenated ask columns, QR codes): the first real packet
    then pays none of WeasyPrint's first-time costs (pyphen's patterns, cffi's C types,
    Pango's fonts at each size: about 0.15 s)."""
    start = datetime(2027, 1, 14, 18, 0, tzinfo=UTC)
    meeting = PrintableMeeting(
        title="Warm-up",
        starts_at=start,
        ends_at=_later(start, 90),
        timezone="UTC",
        country="US",
        capacity=20,
        host_first_name="Kit",
        host_note="A note.",
        campaign=PrintableCampaign(name="Warm-up"),
    )
    asks = ("Host a meeting", "Volunteer", "Come to the next action", "Donate monthly")
    return packet_document(
        meeting,
        address=Place(locality="Town", region="ST", postal_code="00000", street="1 Main St"),
        host_name="Kit Host",
        agenda=plan_agenda([("Welcome", 30), ("Talk", 60)], start),
        guide_markdown=WARM_UP_GUIDE,
        asks=[{"key": str(n), "label": label} for n, label in enumerate(asks * 2)][:6],
        guests=[("Ann Lee", 1), ("Bo Chen", 0)],
        meeting_url="https://example.org/meetings/warm-up",
        report_url="https://example.org/manage/warm-up/report?token=warm-up",
    )


def warm_up() -> None:
    """Load fonts, parse the stylesheet and lay out a made-up packet now, so the first
    real render is not slower. Its parts are not kept (``LAID_OUT`` stays empty)."""
    document = warm_up_packet()
    with _RENDER_LOCK, _collector_paused():
        _write(_layout_parts(document.html, _LaidOut(8)) or _layout(document.html), 0)
    html_to_pdf(warm_up_html())


def render(document: Document) -> Rendered:
    data = html_to_pdf(document.html, repeat_last_page=document.repeat_last_page)
    return Rendered(document.filename, PDF, data)
