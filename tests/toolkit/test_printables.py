"""The packet, the flyer and the guide, read back from the PDF: text, metadata, paper
size, QR codes (rendered with pdfium, decoded with zxing-cpp), privacy, speed, cache.

Also covers ``kit.printables.context`` (what drives each document, the cache, the worker
thread, the host's agenda timings): it is the toolkit's only caller besides the web.
"""

from __future__ import annotations

import asyncio
import http.server
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader

from kit.campaigns.guides import DEFAULT_AGENDA, agenda_items
from kit.core.errors import CampaignNotFound, Conflict, ValidationError
from kit.meetings.hosttools import ref_code
from kit.meetings.rsvps import RsvpInput, cancel_rsvp, record_rsvp
from kit.meetings.service import cancel_meeting, get_managed_meeting
from kit.printables import context as printing
from kit.store.models import Meeting, Rsvp, RsvpStatus
from kit.toolkit import printables
from tests.factories import SITE, make_campaign, make_meeting

GUESTS = [
    ("Sam Rivera", "sam@example.org", "+1 212 555 0111", 1),
    ("Ana Lima", "ana@example.org", "+1 212 555 0122", 0),
    ("Bo Chen", "bo@example.org", None, 0),
]
CAMPAIGN_GUIDE = """\
# Tenants Together guide

## Opening circle

Everyone shares one thing about their building.

## Our three questions

1. What repairs are you waiting for?
2. Who owns your building?
3. What would you ask the owner?
"""


# Reading PDFs back (also used by tests/web/test_printables.py) ----------------------


def pdf_reader(data: bytes) -> PdfReader:
    assert data[:5] == b"%PDF-"
    return PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    """All the text, with whitespace runs as single spaces."""
    text = "\n".join(page.extract_text() for page in pdf_reader(data).pages)
    return re.sub(r"\s+", " ", text)


def page_size(data: bytes, page: int = 0) -> tuple[int, int]:
    box = pdf_reader(data).pages[page].mediabox
    return round(float(box.width)), round(float(box.height))


def qr_codes(data: bytes, page: int = 0) -> list[str]:
    """The QR codes printed on a page, as a phone would read them (pdfium at 216 dpi)."""
    document = pdfium.PdfDocument(data)
    try:
        image = document[page].render(scale=3).to_pil()
    finally:
        document.close()
    return sorted(r.text for r in zxingcpp.read_barcodes(image))


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Each font on any page, and whether its program is embedded in the file."""
    fonts: dict[str, bool] = {}
    for page in pdf_reader(data).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descriptor = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if "/DescendantFonts" in font
                else font.get("/FontDescriptor")
            )
            keys = descriptor.get_object().keys() if descriptor else ()
            fonts[str(font.get("/BaseFont"))] = bool(
                {"/FontFile", "/FontFile2", "/FontFile3"} & set(keys)
            )
    return fonts


# Building meetings as hosts and guests do --------------------------------------------


async def hosted(**overrides: Any) -> tuple[Meeting, str]:
    """A published meeting as its host sees it (campaign and host fetched), and its token."""
    created = await make_meeting(**overrides)
    assert created.manage_token
    meeting = await get_managed_meeting(created.meeting.public_id, created.manage_token)
    return meeting, created.manage_token


async def add_guests(meeting: Meeting, guests: list[tuple[str, str, str | None, int]]) -> None:
    for name, email, phone, extra in guests:
        data = RsvpInput(name=name, email=email, phone=phone, guests=extra)
        await record_rsvp(meeting, data, site=SITE, notify=False)


@pytest.fixture(autouse=True)
def fresh_pdf_cache() -> Iterator[None]:
    printing.PDF_CACHE.clear()
    yield
    printing.PDF_CACHE.clear()


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (RecordingHandler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# The host packet ----------------------------------------------------------------------


async def test_packet_reads_back_with_title_times_guide_and_confirmed_guests(db: str) -> None:
    meeting, token = await hosted()
    await add_guests(meeting, GUESTS)
    rendered = await printing.get_packet(meeting, token, site=SITE)

    assert rendered.content_type == "application/pdf"
    assert re.fullmatch(r"packet-neighbors-talk-schools-\d{4}-\d\d-\d\d\.pdf", rendered.filename)
    reader = pdf_reader(rendered.data)
    assert reader.metadata is not None
    assert reader.metadata.title == "Host packet: Neighbors talk schools"
    assert reader.metadata.author == "Quinn"
    text = pdf_text(rendered.data)
    start = meeting.starts_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{start:%A, %B %-d, %Y}" in text
    assert "6:30 PM – 8:30 PM EST" in text  # 18:30 in New York, never UTC
    for clock, item in [
        ("6:30 PM", "Welcome and introductions"),
        ("6:42 PM", "Why we came: one story each"),  # the kit's 100 minutes, fitted to 120
        ("7:12 PM", "Discussion"),
        ("7:54 PM", "The ask"),
        ("8:06 PM", "Commitments and sign-in sheet"),
        ("8:18 PM", "Next steps and the next meeting"),
        ("8:30 PM", "Thank everyone and close"),
    ]:
        assert re.search(f"{clock} {re.escape(item)}", text), (clock, item)
    for heading in ("Hosting a house meeting", "Before people arrive", "The ask", "Commitments"):
        assert heading in text
    assert "417 Elm St" in text and "ring the blue door" in text  # the exact address
    for name, *_ in GUESTS:
        assert name in text
    assert "guest of Sam" in text  # Sam brings one more person


async def test_packet_never_shows_an_email_or_a_phone_number(db: str) -> None:
    meeting, token = await hosted()
    await add_guests(meeting, GUESTS)
    document = await printing.packet_document(meeting, token, site=SITE)
    rendered = await printing.get_packet(meeting, token, site=SITE)
    text = pdf_text(rendered.data)
    for _, email, phone, _ in [*GUESTS, ("Quinn Doe", "quinn@example.org", "+1 212 555 0100", 0)]:
        assert email not in document.html and email not in text
        if phone:
            assert phone not in document.html and phone.replace(" ", "") not in text
    assert "Email" in text and "Phone" in text  # the columns are there, empty, to write in


async def test_only_confirmed_guests_are_on_the_sign_in_sheet(db: str) -> None:
    meeting, token = await hosted(capacity=2)
    await add_guests(meeting, [GUESTS[1], GUESTS[2], ("Wai Tlist", "wai@example.org", None, 0)])
    gone = await Rsvp.get(person__email="bo@example.org")
    await cancel_rsvp(gone, site=SITE)  # Wai is promoted from the waitlist into Bo's seat
    await add_guests(meeting, [("Late Wait", "late@example.org", None, 0)])
    statuses = dict(await Rsvp.all().values_list("person__name", "status"))
    assert statuses["Late Wait"] == RsvpStatus.WAITLISTED
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "Ana Lima" in text and "Wai Tlist" in text
    assert "Bo Chen" not in text and "Late Wait" not in text


async def test_sign_in_rows_go_to_capacity_plus_five_and_cards_are_one_a_seat() -> None:
    rows = printables.signin_rows([("Zed Last", 0), ("ann first", 2)], capacity=12)
    assert [r.name for r in rows[:4]] == ["ann first", "", "", "Zed Last"]
    assert rows[1].hint == "guest of ann"
    # 17 rows are wanted (capacity + 5): the second page is filled with blank rows, never
    # printed with a single one.
    pages = printables.signin_pages(rows)
    assert [(first, len(chunk)) for first, chunk in pages] == [(1, 16), (17, 19)]
    assert not any(r.name or r.hint for r in rows[4:])
    assert len(printables.signin_rows([], capacity=11)) == 16  # one whole page
    thirty = printables.signin_rows([(f"P{n}", 0) for n in range(30)], capacity=20)
    assert len(thirty) == 35 and thirty[29].name == "P9" and thirty[-1].name == ""
    assert printables.card_pages(12) == 3
    assert printables.card_pages(500) == printables.MAX_CARD_PAGES


async def test_packet_has_every_part_and_a_page_of_cards_per_six_seats(db: str) -> None:
    meeting, token = await hosted(capacity=12)
    rendered = await printing.get_packet(meeting, token, site=SITE)
    reader = pdf_reader(rendered.data)
    texts = [page.extract_text() for page in reader.pages]
    assert "Tick each part as you go" in texts[1]  # the agenda
    signin = next(n for n, t in enumerate(texts) if "Sign in" in t)
    assert page_size(rendered.data, signin) == (792, 612)  # landscape, to write on
    assert page_size(rendered.data, signin + 1) == (792, 612)  # 17 rows: a second page
    # ... which is filled to its foot: 35 numbered rows on exactly two sheet pages.
    sheets = [t for t in texts if "EmailPhone" in t.replace(" ", "").replace("\n", "")]
    assert len(sheets) == 2 and "35" in sheets[1] and "36" not in sheets[1]
    # The column rules and tick boxes are one drawing tiled down the page (a pattern),
    # not an image drawn again for each of the 16 rows.
    grid = reader.pages[signin]["/Resources"]
    assert len(grid.get("/XObject", {})) + len(grid.get("/Pattern", {})) <= 4
    cards = [t for t in texts if "Cut along the dashed lines" in t]
    assert len(cards) == printables.card_pages(12) == 3
    assert all(t.count("I'm in. I will:") == 6 for t in cards)
    assert texts[-1] == cards[-1]


async def test_packet_qr_codes_lead_to_the_meeting_page_and_the_report_form(db: str) -> None:
    meeting, token = await hosted()
    rendered = await printing.get_packet(meeting, token, site=SITE)
    assert qr_codes(rendered.data, page=0) == sorted(
        [
            f"http://testserver/meetings/{meeting.public_id}",
            f"http://testserver/manage/{meeting.public_id}/report?token={token}",
        ]
    )


async def test_packet_uses_the_campaigns_guide_asks_and_agenda(db: str) -> None:
    campaign = await make_campaign(
        "tenants",
        name="Tenants Together",
        guide_markdown=CAMPAIGN_GUIDE,
        agenda=[{"title": "Opening circle", "minutes": 20}, {"title": "Questions", "minutes": 40}],
        asks=[{"key": "union", "label": "Join the union"}, {"key": "host", "label": "Host"}],
    )
    meeting, token = await hosted(campaign=campaign.slug)
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "Tenants Together guide" in text and "Who owns your building?" in text
    assert "Hosting a house meeting" not in text
    assert re.search(r"6:30 PM Opening circle 20 min", text)
    assert re.search(r"6:50 PM Questions 40 min", text)
    assert "Join the union" in text
    assert "Donate monthly" not in text


async def test_packet_is_tagged_with_embedded_fonts_and_a_language(db: str) -> None:
    meeting, token = await hosted()
    reader = pdf_reader((await printing.get_packet(meeting, token, site=SITE)).data)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    fonts = embedded_fonts((await printing.get_packet(meeting, token, site=SITE)).data)
    assert fonts and all(fonts.values()), fonts
    assert any("DejaVu" in name for name in fonts)


async def test_warm_up_loads_every_face_the_packet_uses(db: str) -> None:
    """The warm-up document uses each font the packet does, so the first packet a worker
    prints loads none of them on a request's time."""
    meeting, token = await hosted()
    packet = set(embedded_fonts((await printing.get_packet(meeting, token, site=SITE)).data))
    warm = printables.html_to_pdf(printables.warm_up_html())
    faces = {name.split("+")[-1] for name in embedded_fonts(warm)}
    assert {name.split("+")[-1] for name in packet} <= faces, (packet, faces)


# Paper size and time zone by place -----------------------------------------------------


@pytest.mark.parametrize(
    ("address", "size", "zone"),
    [
        ({"locality": "New York", "postal_code": "10027", "country": "US"}, (612, 792), "EST"),
        ({"locality": "Toronto", "postal_code": "", "country": "CA"}, (612, 792), "EST"),
        ({"locality": "Lyon", "postal_code": "69002", "country": "FR"}, (595, 842), "CET"),
    ],
)
async def test_paper_size_and_times_follow_the_meetings_country_and_zone(
    db: str, address: dict[str, str], size: tuple[int, int], zone: str
) -> None:
    meeting, token = await hosted(address={**address, "street": "3 Main St"})
    packet = (await printing.get_packet(meeting, token, site=SITE)).data
    flyer = (await printing.get_flyer(meeting, site=SITE)).data
    guide = (await printing.get_meeting_guide(meeting)).data
    assert page_size(packet) == page_size(flyer) == page_size(guide) == size
    assert f"6:30 PM – 8:30 PM {zone}" in pdf_text(flyer)
    assert re.search(r"6:42 PM Why we came", pdf_text(guide))


# The flyer ------------------------------------------------------------------------------


async def test_flyer_shows_locality_host_first_name_and_note_but_no_street_or_guest(
    db: str,
) -> None:
    meeting, _ = await hosted(host_note="Bring a neighbor! Tea and cake.")
    await add_guests(meeting, GUESTS)
    rendered = await printing.get_flyer(meeting, site=SITE)
    assert len(pdf_reader(rendered.data).pages) == 1
    reader = pdf_reader(rendered.data)
    assert reader.metadata is not None
    assert reader.metadata.title == "You're invited: Neighbors talk schools"
    text = pdf_text(rendered.data)
    assert "Neighbors talk schools" in text and "In New York" in text
    assert "Quinn" in text and "Doe" not in text
    assert "Bring a neighbor! Tea and cake." in text
    assert "417 Elm St" not in text and "blue door" not in text and "10027" not in text
    for name, email, *_ in GUESTS:
        assert name not in text and email not in text


async def test_flyer_qr_code_is_the_hosts_link_to_rsvp_counted_as_the_flyer(db: str) -> None:
    meeting, _ = await hosted()
    rendered = await printing.get_flyer(meeting, site=SITE)
    code = ref_code(meeting, SITE.secret_key)
    assert qr_codes(rendered.data) == [
        f"http://testserver/meetings/{meeting.public_id}?ref={code}&source=flyer"
    ]


async def test_flyer_prints_a_short_link_whole_on_every_tear_off_tab(db: str) -> None:
    meeting, _ = await hosted()
    data = (await printing.get_flyer(meeting, site=SITE)).data
    text = pdf_text(data)
    short = f"/m/{meeting.public_id}"
    assert f"go to http://testserver{short}" in text
    assert text.count(f"testserver {short}") == 8  # each tab: the site, then the path
    assert f"/meetings/{meeting.public_id}" not in text  # the long link is the QR code's
    assert len(pdf_reader(data).pages) == 1


async def test_flyer_of_a_public_place_shows_its_street(db: str) -> None:
    meeting, _ = await hosted(kind="public", address={"street": "Central Library"})
    text = pdf_text((await printing.get_flyer(meeting, site=SITE)).data)
    assert "Central Library" in text


async def test_a_public_places_name_prints_beside_its_address(db: str) -> None:
    place = {"venue": "Harlem Library", "street": "9 W 124th St"}
    meeting, token = await hosted(kind="public", address=place)
    flyer = pdf_text((await printing.get_flyer(meeting, site=SITE)).data)
    assert "Harlem Library 9 W 124th St, New York" in " ".join(flyer.split())
    packet = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert re.search(r"WHERE\s+Harlem Library\s+9 W 124th St\s+New York", packet)
    guide = pdf_text((await printing.get_meeting_guide(meeting)).data)
    assert "Harlem Library, 9 W 124th St, New York" in " ".join(guide.split())


async def test_a_home_meetings_flyer_still_shows_the_town_only(db: str) -> None:
    # A name typed while the form said "public", then the host switched to home.
    meeting, token = await hosted(address={"venue": "The Okafor house"})
    flyer = pdf_text((await printing.get_flyer(meeting, site=SITE)).data)
    assert "In New York" in flyer and "Okafor house" not in flyer and "417 Elm St" not in flyer
    packet = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "Okafor house" not in packet and "417 Elm St" in packet


async def test_flyer_of_a_cancelled_meeting_says_so(db: str) -> None:
    meeting, _ = await hosted()
    await cancel_meeting(meeting, site=SITE)
    assert "This meeting is cancelled." in pdf_text(
        (await printing.get_flyer(meeting, site=SITE)).data
    )


# The guides ------------------------------------------------------------------------------


async def test_meeting_guide_has_the_agenda_and_guide_but_no_address_or_guest(db: str) -> None:
    meeting, _ = await hosted()
    await add_guests(meeting, GUESTS)
    rendered = await printing.get_meeting_guide(meeting)
    reader = pdf_reader(rendered.data)
    assert reader.metadata is not None
    assert reader.metadata.title == "Discussion guide: Neighbors talk schools"
    text = pdf_text(rendered.data)
    assert re.search(r"6:30 PM Welcome and introductions", text)
    assert "Why we came: one story each" in text and "Next steps and the next meeting" in text
    assert "417 Elm St" not in text
    for name, email, *_ in GUESTS:
        assert name not in text and email not in text


async def test_campaign_guide_is_public_and_a_private_campaign_is_not_found(db: str) -> None:
    await make_campaign("tenants", name="Tenants Together", guide_markdown=CAMPAIGN_GUIDE)
    await make_campaign("secret", name="Secret", is_public=False)
    rendered = await printing.get_campaign_guide("tenants")
    assert rendered.filename == "guide-tenants.pdf"
    reader = pdf_reader(rendered.data)
    assert reader.metadata is not None and reader.metadata.author == "Tenants Together"
    text = pdf_text(rendered.data)
    assert "Opening circle" in text and "Who owns your building?" in text
    assert re.search(r"Welcome and introductions 10 min", text)  # the kit's agenda, in minutes
    assert page_size(rendered.data) == (612, 792)  # no meetings yet: Letter
    with pytest.raises(CampaignNotFound):
        await printing.get_campaign_guide("secret")
    with pytest.raises(CampaignNotFound):
        await printing.get_campaign_guide("nope")


async def test_campaign_guide_paper_follows_where_its_meetings_are(db: str) -> None:
    campaign = await make_campaign("lyon", name="Lyon")
    for street in ("1 rue A", "2 rue B"):
        address = {"street": street, "locality": "Lyon", "postal_code": "69002", "country": "FR"}
        await hosted(campaign=campaign.slug, address=address, title=f"At {street}")
    await hosted(campaign=campaign.slug)
    assert page_size((await printing.get_campaign_guide("lyon")).data) == (595, 842)


# Hostile guides never make the renderer fetch anything --------------------------------


async def test_a_hostile_guide_never_makes_the_renderer_fetch_a_url(
    db: str, loopback_server: tuple[str, list[str]]
) -> None:
    base, hits = loopback_server
    hostile = (
        f'# Guide\n\n![x]({base}/markdown.png)\n\n<img src="{base}/raw.png" onerror=alert(1)>\n\n'
        f'<link rel=stylesheet href="{base}/x.css"><script>alert(1)</script>\n\n'
        "[click](javascript:alert(1))\n"
    )
    campaign = await make_campaign("hostile", guide_markdown=hostile)
    meeting, token = await hosted(campaign=campaign.slug)
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "[Image: x]" in text
    assert "<script>alert(1)</script>" in text  # printed as text, harmless on paper
    # Even HTML that skipped the sanitizer can't reach the network: the fetcher refuses.
    printables.html_to_pdf(
        f'<link rel=stylesheet href="{base}/direct.css"><img src="{base}/direct.png">'
        f'<p style="background: url({base}/bg.png)">x</p>'
    )
    assert hits == []


async def test_a_5_mb_guide_in_the_database_prints_cut_short_in_bounded_time(db: str) -> None:
    huge = "# Big guide\n\n" + ("Talk about the neighborhood. " * 30 + "\n\n") * 6_000
    assert len(huge) > 5_000_000
    campaign = await make_campaign("huge", guide_markdown=huge)
    meeting, token = await hosted(campaign=campaign.slug)
    rendered = await printing.get_meeting_guide(meeting)
    assert "This guide was cut short for printing" in pdf_text(rendered.data)
    assert len(pdf_reader(rendered.data).pages) < 40


# Speed: off the event loop, cached by content -----------------------------------------


async def test_rendering_runs_off_the_event_loop(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = printables.html_to_pdf

    def recording(html: str, **kwargs: Any) -> bytes:
        threads.append(threading.get_ident())
        return real(html, **kwargs)

    monkeypatch.setattr(printables, "html_to_pdf", recording)
    meeting, token = await hosted()
    await add_guests(meeting, GUESTS)
    task = asyncio.create_task(printing.get_packet(meeting, token, site=SITE))
    turns = 0
    while not task.done():
        await asyncio.sleep(0)  # the loop keeps serving others while WeasyPrint works
        turns += 1
    await task
    # WeasyPrint ran in a worker thread, never on the event loop's own thread.
    assert threads and threading.get_ident() not in threads
    assert turns > 1


async def test_packet_is_cached_until_the_meeting_rsvps_or_guide_change(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[int] = []
    real = printables.html_to_pdf

    def counting(html: str, **kwargs: Any) -> bytes:
        renders.append(1)
        return real(html, **kwargs)

    monkeypatch.setattr(printables, "html_to_pdf", counting)
    campaign = await make_campaign("cached", guide_markdown=CAMPAIGN_GUIDE)
    meeting, token = await hosted(campaign=campaign.slug)

    async def packet() -> bytes:
        fresh = await get_managed_meeting(meeting.public_id, token)
        return (await printing.get_packet(fresh, token, site=SITE)).data

    first = await packet()
    assert await packet() == first
    assert len(renders) == 1  # served from the cache: no second render (bench/ times it)

    await add_guests(meeting, [GUESTS[0]])  # an RSVP
    assert await packet() != first
    assert len(renders) == 2
    await printing.update_agenda(await get_managed_meeting(meeting.public_id, token), {})
    await packet()  # saving the same timings changes nothing printed
    assert len(renders) == 2
    fresh = await get_managed_meeting(meeting.public_id, token)
    await printing.update_agenda(fresh, {"minutes.0": "25"})  # the meeting
    await packet()
    assert len(renders) == 3
    campaign.guide_markdown = CAMPAIGN_GUIDE + "\n## One more thing\n"  # the guide
    await campaign.save()
    await packet()
    assert len(renders) == 4
    await packet()
    assert len(renders) == 4


async def test_identical_requests_in_flight_render_once(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders: list[int] = []
    real = printables.html_to_pdf
    monkeypatch.setattr(
        printables, "html_to_pdf", lambda html, **kw: renders.append(1) or real(html, **kw)
    )
    meeting, _ = await hosted()
    results = await asyncio.gather(*(printing.get_flyer(meeting, site=SITE) for _ in range(4)))
    assert len({r.data for r in results}) == 1
    assert len(renders) == 1


def test_pdf_cache_is_bounded_in_entries_and_bytes() -> None:
    cache = printing.PdfCache(size=3, max_bytes=10)
    for key in "abcd":
        cache.put(key, b"1234")
    assert len(cache) == 2  # 3 entries would be 12 bytes
    assert cache.get("a") is None and cache.get("d") == b"1234"


# The host's agenda timings ---------------------------------------------------------------


async def test_host_adjusts_timings_and_the_packet_prints_the_new_clock(db: str) -> None:
    meeting, token = await hosted(host_note="Old note")
    raw = {"minutes.0": "15", "minutes.2": "30", "host_note": "Door is round the back."}
    await printing.update_agenda(meeting, raw)
    saved = await Meeting.get(id=meeting.id)
    assert saved.agenda is not None
    assert [item["minutes"] for item in saved.agenda] == [15, 30, 30, 12, 12, 12]
    assert saved.host_note == "Door is round the back."
    fresh = await get_managed_meeting(meeting.public_id, token)
    text = pdf_text((await printing.get_packet(fresh, token, site=SITE)).data)
    assert re.search(r"6:30 PM Welcome and introductions 15 min", text)
    assert re.search(r"6:45 PM Why we came: one story each 30 min", text)
    assert re.search(r"7:15 PM Discussion 30 min", text)
    assert "Door is round the back." in text
    await printing.update_agenda(fresh, {"reset": "1"})
    assert (await Meeting.get(id=meeting.id)).agenda is None


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"minutes.1": "181"}, "minutes.1", "between 0 and 180"),
        ({"minutes.0": "-5"}, "minutes.0", "between 0 and 180"),
        ({"minutes.3": "ten"}, "minutes.3", "whole number"),
        ({f"minutes.{n}": "150" for n in range(6)}, "minutes.0", "keep it to 12 hours"),
        ({"host_note": "x" * 2001}, "host_note", "too long"),
    ],
)
async def test_agenda_timings_are_checked(
    db: str, raw: dict[str, str], field: str, message: str
) -> None:
    meeting, _ = await hosted()
    with pytest.raises(ValidationError) as caught:
        await printing.update_agenda(meeting, raw)
    assert message in caught.value.fields[field]
    assert (await Meeting.get(id=meeting.id)).agenda is None


async def test_a_cancelled_meetings_agenda_cant_change(db: str) -> None:
    meeting, _ = await hosted()
    await cancel_meeting(meeting, site=SITE)
    with pytest.raises(Conflict):
        await printing.update_agenda(meeting, {"minutes.0": "5"})


async def test_the_agenda_prints_its_total_on_a_line_of_its_own(db: str) -> None:
    meeting, token = await hosted()
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "8:30 PM Thank everyone and close Total 120 min" in text
    assert "close 120 min" not in text


@pytest.mark.parametrize(
    ("hours", "minutes"),
    [(1.5, [9, 23, 31, 9, 9, 9]), (1, [6, 15, 21, 6, 6, 6]), (3, [18, 45, 63, 18, 18, 18])],
)
async def test_the_kits_agenda_fits_the_meetings_length(
    db: str, hours: float, minutes: list[int]
) -> None:
    meeting, token = await hosted()
    meeting.ends_at = meeting.starts_at + timedelta(hours=hours)
    await meeting.save()
    slots = printing.agenda_slots(meeting)
    assert [s.minutes for s in slots] == minutes and sum(minutes) == hours * 60
    assert slots[-1].ends_at == meeting.ends_at
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert f"Total {int(hours * 60)} min" in text and "past the meeting's end" not in text


def test_scaled_timings_keep_each_parts_share_and_add_up_exactly() -> None:
    items = [("a", 10), ("b", 25), ("c", 35), ("d", 10), ("e", 10), ("f", 10)]
    for length in (7, 45, 61, 89, 100, 119, 241, 720):
        scaled = printing.scale_agenda(items, length)
        assert sum(m for _, m in scaled) == length, length
        for (_, old), (_, new) in zip(items, scaled, strict=True):
            assert abs(new - old * length / 100) < 1
    assert printing.scale_agenda([("x", 0)], 90) == [("x", 0)]


async def test_timings_past_the_meetings_end_are_said_plainly(db: str) -> None:
    meeting, token = await hosted()
    assert printing.overrun_message(meeting) is None
    await printing.update_agenda(meeting, {"minutes.2": "72"})  # 30 minutes more
    assert printing.agenda_overrun(meeting) == 30
    assert printing.overrun_message(meeting) == (
        "These timings run 30 minutes past your meeting's end (8:30 PM). Shorten a part, "
        "or tell your guests it may run late."
    )
    text = pdf_text((await printing.get_packet(meeting, token, site=SITE)).data)
    assert "The agenda runs 30 minutes past the meeting's end (8:30 PM)." in text


def test_agenda_clock_is_right_across_a_daylight_saving_change() -> None:
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, 6, 30, tzinfo=UTC).astimezone(zone)  # 1:30 AM EST
    slots = printables.plan_agenda([("Before", 30), ("After", 30)], start)
    assert [s.starts_at.strftime("%-I:%M %p %Z") for s in slots] == ["1:30 AM EST", "3:00 AM EDT"]
    assert slots[-1].ends_at.strftime("%-I:%M %p %Z") == "3:30 AM EDT"
    assert agenda_items([{"title": "x"}, "junk", {"title": "", "minutes": 5}]) == [("x", 0)]
    assert agenda_items(DEFAULT_AGENDA)[0] == ("Welcome and introductions", 10)


# The leaf on its own: plain data in, PDF out, no database ------------------------------

CHICAGO = ZoneInfo("America/Chicago")
PLAIN = printables.PrintableMeeting(
    title="Bus lines on Elm",
    starts_at=datetime(2027, 1, 14, 18, 0, tzinfo=CHICAGO),
    ends_at=datetime(2027, 1, 14, 19, 30, tzinfo=CHICAGO),
    timezone="America/Chicago",
    country="US",
    capacity=8,
    host_first_name="Rosa",
    description="Where should the 12 stop?",
    campaign=printables.PrintableCampaign(name="Transit Now", slug="transit-now"),
)
ADDRESS = printables.Place(
    locality="Chicago", region="IL", postal_code="60614", street="12 Elm St", directions="rear"
)
TOWN = printables.Place(locality="Chicago", region="IL", postal_code="60614")


def test_a_packet_renders_from_plain_data_in_the_meetings_own_zone() -> None:
    document = printables.packet_document(
        PLAIN,
        address=ADDRESS,
        host_name="Rosa Parks",
        agenda=printables.plan_agenda([("Welcome", 30), ("Talk", 60)], PLAIN.starts_at),
        guide_markdown="# Our guide\n\nListen *first*.",
        asks=[{"key": "ride", "label": "Ride the 12"}],
        guests=[("Lee Ong", 1)],
        meeting_url="http://testserver/meetings/abc",
        report_url="http://testserver/manage/abc/report?token=t",
    )
    assert document.filename == "packet-bus-lines-on-elm-2027-01-14.pdf"
    assert document.repeat_last_page == 2  # three pages of cards for 8 seats and 5 spare
    rendered = printables.render(document)
    text = pdf_text(rendered.data)
    assert "6:00 PM – 7:30 PM CST" in text and "Thursday, January 14, 2027" in text
    assert "6:30 PM Talk" in text  # the agenda on the clock
    assert "12 Elm St" in text and "Chicago, IL 60614" in text and "rear" in text
    assert "Rosa Parks" in text and "Lee Ong" in text and "guest of Lee" in text
    assert "TRANSIT NOW" in text.upper() and "Ride the 12" in text and "Our guide" in text
    assert page_size(rendered.data) == (612, 792)  # Letter, for the US
    assert qr_codes(rendered.data, page=0) == sorted(
        ["http://testserver/meetings/abc", "http://testserver/manage/abc/report?token=t"]
    )


def test_a_flyer_prints_only_the_location_it_is_given() -> None:
    document = printables.flyer_document(
        PLAIN, location=TOWN, rsvp_url="http://testserver/r", short_url="http://testserver/m/abc"
    )
    text = pdf_text(printables.render(document).data)
    assert "In Chicago, IL" in text and "At a neighbor's home" in text
    assert "Hosted by Rosa" in text and "8 seats" in text
    assert "Elm St" not in text and "rear" not in text


def test_a_public_places_flyer_leads_with_its_name() -> None:
    public = replace(PLAIN, is_home=False)
    library = printables.Place(locality="Chicago", venue="Elm Library", street="1 Elm St")
    document = printables.flyer_document(
        public, location=library, rsvp_url="http://testserver/r", short_url="http://t/m/a"
    )
    html = document.html
    assert "<strong>Elm Library</strong>" in html and "1 Elm St, Chicago" in html
    assert "At a neighbor's home" not in html


def test_a_cancelled_meetings_guide_says_so_and_a_campaigns_guide_has_no_clock() -> None:
    cancelled = replace(PLAIN, cancelled=True)
    guide = printables.meeting_guide_document(
        cancelled, location=TOWN, agenda=[], guide_markdown="Hello"
    )
    assert "This meeting is cancelled." in guide.html
    assert (
        "This meeting is cancelled."
        not in printables.meeting_guide_document(
            PLAIN, location=TOWN, agenda=[], guide_markdown="Hello"
        ).html
    )
    campaign = printables.campaign_guide_document(
        printables.PrintableCampaign(name="Transit Now", slug="transit-now", description="Why."),
        agenda=[("Welcome", 10), ("Talk", 50)],
        guide_markdown="# Ours",
        country="DE",
    )
    assert campaign.filename == "guide-transit-now.pdf"
    rendered = printables.render(campaign)
    text = pdf_text(rendered.data)
    assert "Welcome" in text and "60" in text and "Why." in text and " PM" not in text
    assert page_size(rendered.data) == (595, 842)  # A4 outside the US and Canada
