"""The hosting API: publish, read, change and cancel a meeting as JSON."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kit.store.models import Campaign, Meeting, MeetingStatus, OutboxMessage
from tests.factories import (
    confirm_emailed_meeting,
    local,
    make_campaign,
    make_meeting,
    meeting_body,
)


async def create(client: httpx.AsyncClient, **overrides: object) -> httpx.Response:
    return await client.post("/api/meetings", json=meeting_body(**overrides))


async def create_confirmed(client: httpx.AsyncClient, **overrides: object) -> httpx.Response:
    """Create, then confirm the host's email as they would from the emailed link."""
    response = await create(client, **overrides)
    assert response.status_code == 201, response.text
    await confirm_emailed_meeting(client, "quinn@example.org")
    return response


def bearer(manage_url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {manage_url.split('token=')[1]}"}


async def test_create_answers_with_links_and_emails_the_host(client: httpx.AsyncClient) -> None:
    response = await create(client)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "manage_url", "status", "message"}
    assert body["status"] == "awaiting"  # a new host confirms their email first
    assert body["url"] == f"http://testserver/meetings/{body['id']}"
    assert body["manage_url"].startswith(f"http://testserver/manage/{body['id']}?token=")
    email = await OutboxMessage.get()
    assert (email.recipient, email.kind) == ("quinn@example.org", "host_confirm")
    assert "http://testserver/hosts/confirm/" in email.payload["body_text"]
    live = await confirm_emailed_meeting(client, "quinn@example.org")
    created = await OutboxMessage.get(kind="meeting_created")
    assert f"http://testserver{live.split('&confirmed=')[0]}" in created.payload["body_text"]


async def test_double_submission_creates_one_meeting(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "a-random-value-from-the-client"}
    first = await client.post("/api/meetings", json=meeting_body(), headers=key)
    second = await client.post("/api/meetings", json=meeting_body(), headers=key)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["manage_url"] != first.json()["manage_url"]  # both work
    assert await Meeting.all().count() == 1
    for answer in (first, second):
        path = answer.json()["manage_url"].removeprefix("http://testserver")
        assert (await client.get(path)).status_code == 200


async def test_manage_token_is_long_random_and_stored_hashed(client: httpx.AsyncClient) -> None:
    from kit.store.models import AccessToken

    tokens = {
        (await create(client, title=f"Talk {n}")).json()["manage_url"].split("token=")[1]
        for n in range(3)
    }
    assert len(tokens) == 3
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes = 256 bits
    stored = set(await AccessToken.all().values_list("token_hash", flat=True))
    assert not tokens & stored


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": local(-2, 18), "ends_at": local(-2, 20)}, "starts_at"),
        ({"ends_at": local(7, 17)}, "ends_at"),
        ({"ends_at": local(8, 18)}, "ends_at"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 501}, "capacity"),
        ({"campaign": "no-such-campaign"}, "campaign"),
        (
            {"address": {"locality": "Qwxzyville", "postal_code": "", "country": "US"}},
            "address.locality",
        ),
        ({"title": "x" * 141}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"host": {"email": "quinn at example"}}, "host.email"),
        ({"host": {"name": ""}}, "host.name"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"kind": "castle"}, "kind"),
        ({"capacity": "twelve"}, "capacity"),
    ],
)
async def test_invalid_meeting_is_refused_with_a_field_message(
    client: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    response = await create(client, **overrides)
    assert response.status_code == 422
    body = response.json()
    assert field in body["fields"]
    assert body["fields"][field]
    assert await Meeting.all().count() == 0
    assert await OutboxMessage.all().count() == 0


async def test_body_must_be_a_json_object(client: httpx.AsyncClient) -> None:
    not_json = await client.post(
        "/api/meetings", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    form = await client.post("/api/meetings", data={"title": "x"})
    assert form.status_code == 415
    array = await client.post("/api/meetings", json=[1, 2])
    assert array.status_code == 400


async def test_an_explicit_offset_is_honored(client: httpx.AsyncClient) -> None:
    day = (datetime.now(UTC) + timedelta(days=9)).date()
    response = await create(
        client, starts_at=f"{day}T18:30:00-08:00", ends_at=f"{day}T20:30:00-08:00"
    )
    meeting = await Meeting.get(public_id=response.json()["id"])
    assert meeting.starts_at == datetime.fromisoformat(f"{day}T18:30:00-08:00")


async def test_a_meeting_in_lyon_keeps_paris_time(client: httpx.AsyncClient) -> None:
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    response = await create_confirmed(
        client,
        address={"street": "", "locality": "Lyon", "postal_code": "", "country": "FR"},
        starts_at=f"{day}T19:00",
        ends_at=f"{day}T21:00",
    )
    assert response.status_code == 201, response.text
    public = (await client.get(f"/api/meetings/{response.json()['id']}")).json()
    assert public["timezone"] == "Europe/Paris"
    assert public["starts_at"].startswith(f"{day}T19:00:00+0")
    page = (await client.get(f"/meetings/{response.json()['id']}")).text
    assert "7:00 PM" in page
    assert "Europe/Paris" in page


async def test_host_changes_and_cancels_with_the_bearer_token(client: httpx.AsyncClient) -> None:
    created = (await create(client)).json()
    path = f"/api/meetings/{created['id']}"
    changed = await client.patch(
        path, json={"title": "A new title", "capacity": 25}, headers=bearer(created["manage_url"])
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "A new title"
    assert changed.json()["capacity"] == 25
    moved = await client.patch(
        path,
        json={"address": {"postal_code": "94612", "locality": "Oakland"}},
        headers=bearer(created["manage_url"]),
    )
    assert moved.json()["timezone"] == "America/Los_Angeles"
    cancelled = await client.post(f"{path}/cancel", headers=bearer(created["manage_url"]))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await client.patch(
        path, json={"title": "Too late"}, headers=bearer(created["manage_url"])
    )
    assert again.status_code == 409


async def test_invalid_change_saves_nothing(client: httpx.AsyncClient) -> None:
    created = (await create(client)).json()
    response = await client.patch(
        f"/api/meetings/{created['id']}",
        json={"title": "Changed", "capacity": 0},
        headers=bearer(created["manage_url"]),
    )
    assert response.status_code == 422
    assert "capacity" in response.json()["fields"]
    assert (await Meeting.get(public_id=created["id"])).title == "Neighbors talk schools"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_wrong_or_missing_token_is_a_404(
    client: httpx.AsyncClient, header: str | None
) -> None:
    created = (await create(client)).json()
    headers = {"Authorization": header} if header else {}
    for method, path in (("PATCH", ""), ("POST", "/cancel")):
        response = await client.request(
            method, f"/api/meetings/{created['id']}{path}", json={"title": "x"}, headers=headers
        )
        assert response.status_code == 404
        assert "token" not in response.json()["error"].lower()


async def test_another_meetings_token_does_not_open_this_one(client: httpx.AsyncClient) -> None:
    mine = (await create(client)).json()
    other = (await create(client, title="Another meeting")).json()
    response = await client.patch(
        f"/api/meetings/{mine['id']}", json={"title": "x"}, headers=bearer(other["manage_url"])
    )
    assert response.status_code == 404


async def test_campaign_requiring_approval_keeps_meeting_pending(
    client: httpx.AsyncClient,
) -> None:
    from kit.meetings.service import approve_meeting

    await make_campaign("needs-ok", requires_approval=True)
    created = (await create(client, campaign="needs-ok")).json()
    assert created["status"] == "awaiting"
    await confirm_emailed_meeting(client, "quinn@example.org")
    assert (await Meeting.get(public_id=created["id"])).status is MeetingStatus.PENDING
    assert (await client.get(f"/api/meetings/{created['id']}")).status_code == 404
    await approve_meeting(created["id"])
    assert (await client.get(f"/api/meetings/{created['id']}")).status_code == 200
    assert (await Meeting.get(public_id=created["id"])).status is MeetingStatus.PUBLISHED
    assert await Campaign.all().count() == 1


async def test_meeting_ids_are_random_not_sequential(client: httpx.AsyncClient) -> None:
    ids = [(await create(client, title=f"Talk {n}")).json()["id"] for n in range(5)]
    assert len(set(ids)) == 5
    assert all(len(i) >= 12 and not i.isdigit() for i in ids)


async def test_host_can_close_rsvps_when_full_instead_of_a_waitlist(
    client: httpx.AsyncClient,
) -> None:
    created = (await create_confirmed(client, capacity=1, waitlist=False)).json()
    assert (await Meeting.get(public_id=created["id"])).waitlist_enabled is False
    rsvp = {"name": "Ada", "email": "ada@example.org"}
    assert (await client.post(f"/api/meetings/{created['id']}/rsvps", json=rsvp)).status_code == 202
    full = await client.post(
        f"/api/meetings/{created['id']}/rsvps", json={**rsvp, "email": "bo@example.org"}
    )
    assert full.status_code == 409


async def test_a_meeting_outside_the_campaign_window_is_refused(
    client: httpx.AsyncClient,
) -> None:
    today = datetime.now(UTC).date()
    await make_campaign(
        "spring", name="Spring Talks", starts_on=today, ends_on=today + timedelta(days=10)
    )
    late = await create(client, campaign="spring", starts_at=local(20, 18), ends_at=local(20, 20))
    assert late.status_code == 422
    message = late.json()["fields"]["starts_at"]
    assert message.startswith("Spring Talks runs from ")
    assert f"{today + timedelta(days=10):%B %-d, %Y}" in message
    assert "Pick a date within the campaign." in message
    assert await Meeting.all().count() == 0
    created = (await create(client, campaign="spring")).json()  # day 7: inside
    moved = await client.patch(
        f"/api/meetings/{created['id']}",
        json={"starts_at": local(12, 18), "ends_at": local(12, 20)},
        headers=bearer(created["manage_url"]),
    )
    assert moved.status_code == 422
    assert "Pick a date within the campaign." in moved.json()["fields"]["starts_at"]
    # A change that keeps the date is fine, even after the campaign's dates moved.
    await Campaign.filter(slug="spring").update(ends_on=today + timedelta(days=3))
    renamed = await client.patch(
        f"/api/meetings/{created['id']}",
        json={"title": "Spring talk"},
        headers=bearer(created["manage_url"]),
    )
    assert renamed.status_code == 200, renamed.text


async def test_a_public_place_is_shown_by_its_name(client: httpx.AsyncClient) -> None:
    address = {
        "venue": "Harlem Library",
        "street": "9 W 124th St",
        "locality": "New York",
        "postal_code": "10027",
    }
    created = (await create_confirmed(client, kind="public", address=address)).json()
    public = (await client.get(f"/api/meetings/{created['id']}")).json()
    assert public["location"]["venue"] == "Harlem Library"
    page = (await client.get(f"/meetings/{created['id']}")).text
    assert "Harlem Library, 9 W 124th St, New York" in page
    email = await OutboxMessage.get(kind="meeting_created")
    assert "Harlem Library" in email.payload["body_text"]
    assert "never shown publicly" not in email.payload["body_text"]
    assert "its name and address are shown to everyone" in email.payload["body_text"]
    assert "never shown publicly" not in (email.payload["body_html"] or "")


async def test_a_home_keeps_no_public_name(client: httpx.AsyncClient) -> None:
    address = {"venue": "The Smiths' house", "locality": "New York", "postal_code": "10027"}
    created = (await create_confirmed(client, address=address)).json()
    public = (await client.get(f"/api/meetings/{created['id']}")).json()
    assert "venue" not in public["location"]
    assert (await Meeting.get(public_id=created["id"])).venue_name == ""
    email = await OutboxMessage.get(kind="meeting_created")
    assert "Smiths" not in email.payload["body_text"]
    assert "Your street address is never shown publicly" in email.payload["body_text"]


# --- searching soonest first, and a campaign's meetings without a place ----------------


async def all_search_pages(client: httpx.AsyncClient, **params: str) -> list[list[dict]]:
    """Every page of GET /api/meetings, following `next` as a client would."""
    pages: list[list[dict]] = []
    cursor = None
    while True:
        answer = await client.get(
            "/api/meetings", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["meetings"])
        cursor = answer.json()["next"]
        if not cursor:
            return pages
        assert len(pages) < 20, "the cursor must make progress"


async def test_search_sorted_by_date_pages_soonest_first_with_ties_in_id_order(
    client: httpx.AsyncClient,
) -> None:
    for n, day in enumerate((9, 3, 3, 3, 5, 3)):
        await make_meeting(title=f"Talk {n}", starts_at=local(day), ends_at=local(day, 20))

    pages = await all_search_pages(client, near="10027", sort="date", limit="2")
    found = [m for page in pages for m in page]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert len({m["id"] for m in found}) == 6  # no meeting twice, none left out
    assert [m["starts_at"] for m in found] == sorted(m["starts_at"] for m in found)
    ties = [m["id"] for m in found if m["starts_at"] == found[0]["starts_at"]]
    assert len(ties) == 4 and ties == sorted(ties)
    assert all(isinstance(m["distance_km"], float) for m in found)
    nearest_first = (await client.get("/api/meetings", params={"near": "10027"})).json()
    assert {m["id"] for m in nearest_first["meetings"]} == {m["id"] for m in found}


async def test_a_forged_or_other_sorts_cursor_and_an_unknown_sort_are_clear_400s(
    client: httpx.AsyncClient,
) -> None:
    for day in (3, 4):
        await make_meeting(starts_at=local(day), ends_at=local(day, 20))
    near = {"near": "10027", "limit": "1"}
    by_distance = (await client.get("/api/meetings", params=near)).json()["next"]
    by_date = (await client.get("/api/meetings", params={**near, "sort": "date"})).json()["next"]
    data = json.loads(base64.urlsafe_b64decode(by_date + "=" * (-len(by_date) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**data, "t": "yesterday"}).encode()).decode()
    for params, message in (
        ({**near, "sort": "date", "cursor": by_distance}, "belongs to a different search"),
        ({**near, "cursor": by_date}, "belongs to a different search"),
        ({**near, "sort": "date", "cursor": forged}, "damaged"),
        ({**near, "sort": "date", "cursor": "%%%"}, "damaged"),
    ):
        answer = await client.get("/api/meetings", params=params)
        assert answer.status_code == 400, params
        assert message in answer.json()["fields"]["cursor"]
    answer = await client.get("/api/meetings", params={**near, "sort": "newest"})
    assert answer.status_code == 400
    assert "“date” (soonest first)" in answer.json()["fields"]["sort"]


async def test_a_campaign_without_a_place_lists_its_listed_meetings_soonest_first(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring", name="Spring Talks")
    await make_campaign("autumn", name="Autumn Talks")
    lyon = {"street": "3 rue de la République", "locality": "Lyon", "postal_code": "69001"}
    abroad = await make_meeting(
        title="In Lyon",
        campaign="spring",
        starts_at=local(6),
        ends_at=local(6, 20),
        address={**lyon, "country": "FR"},
    )
    home = await make_meeting(
        title="At home", campaign="spring", starts_at=local(2), ends_at=local(2, 20)
    )
    await make_meeting(title="Autumn", campaign="autumn", starts_at=local(1), ends_at=local(1, 20))
    await make_meeting(title="No campaign", starts_at=local(1), ends_at=local(1, 20))
    await make_meeting(title="Unlisted", campaign="spring", visibility="unlisted")
    await make_meeting(title="Awaiting", campaign="spring", proven=False)
    for status in (MeetingStatus.HIDDEN, MeetingStatus.CANCELLED):
        made = await make_meeting(title=str(status), campaign="spring")
        await Meeting.filter(id=made.meeting.id).update(status=status)

    answer = await client.get("/api/meetings", params={"campaign": "spring"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [m["title"] for m in body["meetings"]] == ["At home", "In Lyon"]
    assert body["next"] is None
    assert all(m["campaign"] == "spring" and "distance_km" not in m for m in body["meetings"])
    # The town of a home, never its street.
    assert body["meetings"][0]["location"]["locality"] == "New York"
    assert "417 Elm St" not in answer.text and "blue door" not in answer.text
    assert home.meeting.public_id == body["meetings"][0]["id"]

    pages = await all_search_pages(client, campaign="spring", limit="1")
    assert [[m["id"] for m in page] for page in pages] == [
        [home.meeting.public_id],
        [abroad.meeting.public_id],
    ]


async def test_without_a_place_a_campaign_is_needed_and_must_exist(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("secret", name="Staff only", is_public=False)
    answer = await client.get("/api/meetings")
    assert answer.status_code == 400
    assert answer.json()["fields"] == {
        "near": "Enter a ZIP code, a town (e.g. “Oakland, CA”) or lat,lon."
    }
    for slug in ("no-such-campaign", "secret"):
        answer = await client.get("/api/meetings", params={"campaign": slug})
        assert answer.status_code == 400
        assert answer.json()["fields"]["campaign"] == f"There is no campaign called “{slug}”."
    await make_campaign("spring")
    for params, field in (
        ({"from": "soon"}, "from"),
        ({"limit": "1000"}, "limit"),
        ({"sort": "popular"}, "sort"),
        ({"cursor": "garbled!"}, "cursor"),
    ):
        answer = await client.get("/api/meetings", params={"campaign": "spring", **params})
        assert answer.status_code == 400, params
        assert field in answer.json()["fields"]


async def test_the_openapi_document_describes_sort_and_the_campaign_list(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    search = schema["paths"]["/api/meetings"]["get"]
    params = {p["name"]: p for p in search["parameters"]}
    assert params["sort"]["schema"]["enum"] == ["distance", "date"]
    assert "required" not in params["near"] or not params["near"]["required"]
    assert "Without `near` but with `campaign`" in search["description"]
