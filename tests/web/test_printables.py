"""The PDFs over HTTP: who may fetch which, the headers, and the host's agenda form."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
from starlette.routing import Route

from kit.core.settings import Settings
from kit.meetings.hosttools import ref_code
from kit.printables import context as printing
from kit.store.models import Meeting
from kit.web import printables
from kit.web.app import create_app
from tests.factories import SITE, csrf_from, make_campaign, make_meeting
from tests.toolkit.test_printables import hosted, pdf_reader, pdf_text

# The same lines as in kit/web/routes.py; added here only if the app lacks them.
PRINTABLE_ROUTES = [
    Route("/meetings/{id}/packet.pdf", printables.meeting_packet_pdf, name="meeting_packet_pdf"),
    Route("/meetings/{id}/flyer.pdf", printables.meeting_flyer_pdf, name="meeting_flyer_pdf"),
    Route("/meetings/{id}/guide.pdf", printables.meeting_guide_pdf, name="meeting_guide_pdf"),
    Route("/campaigns/{slug}/guide.pdf", printables.campaign_guide_pdf, name="campaign_guide_pdf"),
    Route("/manage/{id}/agenda", printables.manage_agenda, methods=["POST"], name="manage_agenda"),
]


@pytest.fixture
def app(settings: Settings, db: str):  # noqa: ANN201
    app = create_app(settings, manage_db=False)
    names = {getattr(route, "name", None) for route in app.router.routes}
    app.router.routes[:0] = [r for r in PRINTABLE_ROUTES if r.name not in names]
    return app


@pytest.fixture(autouse=True)
def fresh_pdf_cache() -> None:
    printing.PDF_CACHE.clear()


def assert_pdf(response: httpx.Response, filename_prefix: str) -> None:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'inline; filename="{filename_prefix}[\w.-]*\.pdf"', disposition)
    pdf_reader(response.content)


async def test_host_gets_the_packet_with_the_token_in_the_query_or_a_bearer_header(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    path = f"/meetings/{meeting.public_id}/packet.pdf"
    by_query = await client.get(f"{path}?token={token}")
    assert_pdf(by_query, "packet-neighbors-talk-schools-")
    assert by_query.headers["cache-control"] == "private, no-store"
    assert "Host packet" in pdf_text(by_query.content)
    by_header = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert_pdf(by_header, "packet-")
    assert by_header.content == by_query.content


async def test_anyone_else_gets_404_for_the_packet(client: httpx.AsyncClient) -> None:
    meeting, token = await hosted()
    _, other_token = await hosted(title="Another meeting", host={"email": "rae@example.org"})
    path = f"/meetings/{meeting.public_id}/packet.pdf"
    for response in [
        await client.get(path),
        await client.get(f"{path}?token=wrong"),
        await client.get(f"{path}?token={other_token}"),
        await client.get(path, headers={"Authorization": "Bearer wrong"}),
        await client.get(f"/meetings/nope/packet.pdf?token={token}"),
    ]:
        assert response.status_code == 404
        assert b"%PDF" not in response.content
        assert "couldn" in response.text  # the friendly error page


async def test_flyer_and_guide_are_public_and_revalidate_with_an_etag(
    client: httpx.AsyncClient,
) -> None:
    meeting, _ = await hosted()
    for kind, title in [("flyer", "You're invited"), ("guide", "Discussion guide")]:
        response = await client.get(f"/meetings/{meeting.public_id}/{kind}.pdf")
        assert_pdf(response, f"{kind}-neighbors-talk-schools-")
        assert response.headers["cache-control"] == "public, no-cache"
        reader = pdf_reader(response.content)
        assert reader.metadata is not None and reader.metadata.title.startswith(title)
        again = await client.get(
            f"/meetings/{meeting.public_id}/{kind}.pdf",
            headers={"If-None-Match": response.headers["etag"]},
        )
        assert again.status_code == 304 and again.content == b""
    assert (await client.get("/meetings/nope/flyer.pdf")).status_code == 404


async def test_the_flyers_short_link_leads_to_the_meeting_counted_as_the_flyer(
    client: httpx.AsyncClient,
) -> None:
    meeting, _ = await hosted()
    code = ref_code(meeting, SITE.secret_key)
    response = await client.get(f"/m/{meeting.public_id}")
    assert response.status_code == 303
    target = f"http://testserver/meetings/{meeting.public_id}?ref={code}&source=flyer"
    assert response.headers["location"] == target
    page = await client.get(target)
    assert page.status_code == 200 and "Neighbors talk schools" in page.text
    # A meeting nobody may see yet (a new host's, waiting for their email) and a made-up
    # id lead nowhere, like the meeting page itself.
    waiting = await make_meeting(proven=False, host={"email": "new@example.org"})
    for public_id in (waiting.meeting.public_id, "nope", "x" * 500):
        assert (await client.get(f"/m/{public_id}")).status_code == 404


async def test_a_meeting_awaiting_approval_prints_only_for_its_host(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("approved-only", requires_approval=True)
    created = await make_meeting(campaign="approved-only")
    meeting, token = created.meeting, created.manage_token
    for kind in ("flyer", "guide"):
        assert (await client.get(f"/meetings/{meeting.public_id}/{kind}.pdf")).status_code == 404
        with_token = await client.get(f"/meetings/{meeting.public_id}/{kind}.pdf?token={token}")
        assert_pdf(with_token, kind)
    assert_pdf(await client.get(f"/meetings/{meeting.public_id}/packet.pdf?token={token}"), "p")


async def test_campaign_guide_is_public_unless_the_campaign_is_private(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("open", name="Open Doors", guide_markdown="# Open Doors guide\n\nHello.")
    await make_campaign("closed", is_public=False)
    response = await client.get("/campaigns/open/guide.pdf")
    assert_pdf(response, "guide-open")
    assert "Open Doors guide" in pdf_text(response.content)
    assert (await client.get("/campaigns/closed/guide.pdf")).status_code == 404
    assert (await client.get("/campaigns/nope/guide.pdf")).status_code == 404


async def test_a_packet_being_rendered_never_stalls_other_requests(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()

    async def packet() -> tuple[httpx.Response, float]:
        response = await client.get(f"/meetings/{meeting.public_id}/packet.pdf?token={token}")
        return response, time.perf_counter()

    async def healthz_while_rendering() -> float:
        await asyncio.sleep(0.05)  # the packet's render has started by now
        assert (await client.get("/healthz")).status_code == 200
        return time.perf_counter()

    (response, packet_done), healthz_done = await asyncio.gather(
        packet(), healthz_while_rendering()
    )
    assert_pdf(response, "packet-")
    # Rendered on the event loop, /healthz would be answered only after the whole PDF.
    # (Not a ratio of durations: the render thread shares the GIL, so how long the
    # answer takes depends on the machine's load and on how fast the render is.)
    assert healthz_done < packet_done, (healthz_done, packet_done)


# The manage page's printables ----------------------------------------------------------


async def test_manage_page_links_to_the_pdfs_and_shows_the_agenda_form(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    html = (await client.get(f"/manage/{meeting.public_id}?token={token}")).text
    for kind in ("packet", "flyer", "guide"):
        assert f'href="/meetings/{meeting.public_id}/{kind}.pdf?token={token}"' in html
    # The form lands back at the Print section, as every manage form lands at its own.
    assert f'action="/manage/{meeting.public_id}/agenda#print"' in html
    assert 'name="minutes.0"' in html and 'value="12"' in html  # fitted to two hours
    assert "Starts at 6:42 PM" in html  # the second item, on the meeting's clock
    assert "past your meeting's end" not in html


async def test_host_saves_agenda_timings_and_the_packet_follows(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    page = f"/manage/{meeting.public_id}?token={token}"
    csrf = await csrf_from(client, page)
    response = await client.post(
        f"/manage/{meeting.public_id}/agenda",
        data={"csrf_token": csrf, "token": token, "minutes.0": "20", "minutes.1": "15"},
    )
    assert response.status_code == 200
    assert "Your agenda is saved" in response.text
    saved = await Meeting.get(id=meeting.id)
    assert saved.agenda is not None and saved.agenda[0] == {
        "title": "Welcome and introductions",
        "minutes": 20,
    }
    packet = await client.get(f"/meetings/{meeting.public_id}/packet.pdf?token={token}")
    text = pdf_text(packet.content)
    assert re.search(r"6:50 PM Why we came: one story each 15 min", text)
    assert "past the meeting's end" not in text


async def test_a_campaign_agenda_longer_than_the_meeting_is_flagged_once_published(
    client: httpx.AsyncClient,
) -> None:
    agenda = [{"title": "Stories", "minutes": 90}, {"title": "Plans", "minutes": 60}]
    await make_campaign("long", agenda=agenda)
    meeting, token = await hosted(campaign="long")  # two hours, an agenda of 150 minutes
    html = (await client.get(f"/manage/{meeting.public_id}?token={token}")).text
    assert "These timings run 30 minutes past your meeting's end (8:30 PM)." in html


async def test_saving_timings_past_the_end_says_so_on_the_page_and_the_packet(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    page = f"/manage/{meeting.public_id}?token={token}"
    csrf = await csrf_from(client, page)
    response = await client.post(
        f"/manage/{meeting.public_id}/agenda",
        data={"csrf_token": csrf, "token": token, "minutes.1": "75"},  # 45 minutes more
    )
    assert response.status_code == 200
    said = "These timings run 45 minutes past your meeting's end (8:30 PM)."
    assert "Your agenda is saved" in response.text and said in response.text
    assert said in (await client.get(page)).text  # and again whenever the form is shown
    packet = await client.get(f"/meetings/{meeting.public_id}/packet.pdf?token={token}")
    assert "The agenda runs 45 minutes past the meeting's end" in pdf_text(packet.content)


async def test_bad_timings_come_back_inline_and_keep_the_rest_of_the_page(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    csrf = await csrf_from(client, f"/manage/{meeting.public_id}?token={token}")
    response = await client.post(
        f"/manage/{meeting.public_id}/agenda",
        data={"csrf_token": csrf, "token": token, "minutes.2": "500"},
    )
    assert response.status_code == 422
    assert "between 0 and 180" in response.text
    assert 'value="500"' in response.text  # what the host typed stays
    assert 'value="Neighbors talk schools"' in response.text  # the meeting form is intact
    assert (await Meeting.get(id=meeting.id)).agenda is None


def in_print_section(html: str, words: str) -> bool:
    """Are ``words`` shown in the manage page's Print section, and not above it?"""
    before, found, after = html.partition('<div id="print">')
    assert found, "no Print section"
    return words not in before and words in after.split('<div id="', 1)[0]


async def test_the_agenda_form_lands_back_at_the_print_section(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    csrf = await csrf_from(client, f"/manage/{meeting.public_id}?token={token}")
    path = f"/manage/{meeting.public_id}/agenda"
    saved = await client.post(path, data={"csrf_token": csrf, "token": token, "minutes.0": "20"})
    assert saved.status_code == 200
    assert in_print_section(saved.text, "Your agenda is saved.")
    refused = await client.post(path, data={"csrf_token": csrf, "token": token, "minutes.2": "x"})
    assert refused.status_code == 422
    assert in_print_section(refused.text, "Please fix this one thing")


async def test_agenda_form_needs_the_csrf_token_and_the_manage_token(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await hosted()
    path = f"/manage/{meeting.public_id}/agenda"
    assert (await client.post(path, data={"token": token, "minutes.0": "5"})).status_code == 403
    csrf = await csrf_from(client, f"/manage/{meeting.public_id}?token={token}")
    wrong = await client.post(path, data={"csrf_token": csrf, "token": "x", "minutes.0": "5"})
    assert wrong.status_code == 404
    assert (await Meeting.get(id=meeting.id)).agenda is None
