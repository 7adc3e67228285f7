"""Coordinator accounts, roles, sign-in links, passwords, API tokens and campaign input."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kit.campaigns import input as campaign_input
from kit.coordinators import access, accounts, api_tokens, campaigns, exports, moderation, signin
from kit.core.errors import (
    CampaignNotFound,
    Conflict,
    MeetingNotFound,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from kit.core.settings import Limit
from kit.meetings.service import get_meeting
from kit.reports import service as reports
from kit.store.models import (
    AccessToken,
    Campaign,
    Coordinator,
    MeetingStatus,
    OutboxMessage,
    Person,
    TokenKind,
)
from kit.toolkit.markdown import MAX_GUIDE_CHARS
from kit.toolkit.spreadsheet import FORMULA_TRIGGERS
from tests.factories import SITE, make_campaign, make_meeting
from tests.reports.test_reports import held_meeting
from tests.servers import run_kit


async def test_add_coordinator_is_idempotent_and_only_adds(db: str) -> None:
    await make_campaign("winter")
    await make_campaign("spring", name="Spring")
    first, created = await accounts.add_coordinator("Cara@Example.org ", campaign_slug="winter")
    assert created and first.email == "cara@example.org" and not first.is_admin
    again, created = await accounts.add_coordinator("cara@example.org", campaign_slug="winter")
    assert not created and again.id == first.id
    await accounts.add_coordinator("cara@example.org", campaign_slug="spring", name="Cara Diaz")
    await accounts.add_coordinator("cara@example.org", is_admin=True)
    await accounts.add_coordinator("cara@example.org")  # without --admin: still an admin
    cara = await Coordinator.get(id=first.id)
    assert cara.is_admin and cara.name == "Cara Diaz"
    assert await accounts.describe_coordinator(cara) == (
        "cara@example.org: admin (every campaign); campaigns: spring, winter"
    )
    assert await Coordinator.all().count() == 1


async def test_add_coordinator_refuses_bad_input(db: str) -> None:
    with pytest.raises(NotFound, match="no campaign called “nope”"):
        await accounts.add_coordinator("cara@example.org", campaign_slug="nope")
    with pytest.raises(ValidationError, match="doesn't look like an email"):
        await accounts.add_coordinator("not-an-email")
    assert not await Coordinator.exists()


async def test_roles_decide_which_campaigns_are_seen(db: str) -> None:
    winter, spring = await make_campaign("winter"), await make_campaign("spring", name="S")
    cara, _ = await accounts.add_coordinator("cara@example.org", campaign_slug="winter")
    boss, _ = await accounts.add_coordinator("boss@example.org", is_admin=True)
    assert [x.slug for x in await accounts.list_visible_campaigns(cara)] == ["winter"]
    assert {x.slug for x in await accounts.list_visible_campaigns(boss)} == {"winter", "spring"}
    assert (await access.require_campaign(cara, "winter", need=access.Can.VIEW)).id == winter.id
    assert (await access.require_campaign(boss, "spring", need=access.Can.VIEW)).id == spring.id
    with pytest.raises(PermissionDenied):
        await access.require_campaign(cara, "spring", need=access.Can.VIEW)
    with pytest.raises(CampaignNotFound):
        await access.require_campaign(cara, "autumn", need=access.Can.VIEW)
    theirs = await make_meeting(campaign="spring")
    with pytest.raises(PermissionDenied):
        await access.require_meeting(cara, theirs.meeting.public_id, need=access.Can.VIEW)
    with pytest.raises(MeetingNotFound):
        await access.require_meeting(cara, "nope", need=access.Can.VIEW)


async def test_find_coordinator_accepts_only_an_id_and_the_current_epoch(db: str) -> None:
    cara, _ = await accounts.add_coordinator("cara@example.org")
    assert (await accounts.find_coordinator(cara.id, 0)).id == cara.id  # type: ignore[union-attr]
    for junk in (None, str(cara.id), True, 10**9):
        assert await accounts.find_coordinator(junk, 0) is None
    for epoch in (None, "0", False, 1, -1):
        assert await accounts.find_coordinator(cara.id, epoch) is None


async def test_signing_out_and_passwords_end_every_session(db: str) -> None:
    cara, _ = await accounts.add_coordinator("cara@example.org")
    await accounts.end_sessions(cara)
    assert cara.session_epoch == 1
    assert await accounts.find_coordinator(cara.id, 0) is None
    assert await accounts.find_coordinator(cara.id, 1) is not None
    phrase = {"password": "a long passphrase", "password_confirm": "a long passphrase"}
    await signin.set_password(cara, phrase)
    await signin.set_password(cara, phrase)  # the same password again still ends sessions
    await signin.remove_password(cara)
    stored = await Coordinator.get(id=cara.id)
    assert (stored.session_epoch, stored.password_hash) == (4, None)
    assert (cara.session_epoch, cara.password_hash) == (4, None)
    with pytest.raises(ValidationError):  # refused before anything changes
        await signin.set_password(cara, {"password": "short", "password_confirm": "short"})
    assert (await Coordinator.get(id=cara.id)).session_epoch == 4


async def test_signin_link_is_single_use_and_expires(db: str) -> None:
    await accounts.add_coordinator("cara@example.org")
    now = datetime.now(UTC)
    await signin.send_signin_link("cara@example.org", ip="1.2.3.4", site=SITE, now=now)
    [mail] = await OutboxMessage.filter(kind="coordinator_signin")
    raw = mail.payload["body_text"].split("/coordinators/signin/")[1].split()[0]
    [token] = await AccessToken.filter(kind=TokenKind.COORDINATOR_LOGIN)
    assert token.token_hash != raw and raw not in token.token_hash
    assert token.expires_at == now + timedelta(minutes=15)
    assert (await signin.check_signin_token(raw)).email == "cara@example.org"
    assert (await signin.check_signin_token(raw)).email == "cara@example.org"  # looking is free
    later = now + timedelta(minutes=16)
    with pytest.raises(signin.SigninLinkInvalid):
        await signin.consume_signin_token(raw, now=later)
    assert (await signin.consume_signin_token(raw)).email == "cara@example.org"
    with pytest.raises(signin.SigninLinkInvalid):
        await signin.consume_signin_token(raw)
    for junk in ("", None, "x" * 500, "not-a-token"):
        with pytest.raises(signin.SigninLinkInvalid):
            await signin.consume_signin_token(junk)


async def test_two_clicks_on_one_link_sign_in_once(db: str) -> None:
    await accounts.add_coordinator("cara@example.org")
    await signin.send_signin_link("cara@example.org", ip="1.2.3.4", site=SITE)
    [mail] = await OutboxMessage.filter(kind="coordinator_signin")
    raw = mail.payload["body_text"].split("/coordinators/signin/")[1].split()[0]
    results = await asyncio.gather(
        *(signin.consume_signin_token(raw) for _ in range(5)), return_exceptions=True
    )
    assert sum(isinstance(r, Coordinator) for r in results) == 1


async def test_unknown_addresses_get_no_mail_and_links_are_rate_limited(db: str) -> None:
    await signin.send_signin_link("nobody@example.org", ip="1.2.3.4", site=SITE)
    assert not await OutboxMessage.exists()
    for _ in range(signin.SIGNIN_PER_EMAIL.hits - 1):
        await signin.send_signin_link("nobody@example.org", ip="1.2.3.4", site=SITE)
    with pytest.raises(RateLimited):
        await signin.send_signin_link("nobody@example.org", ip="5.6.7.8", site=SITE)


async def test_passwords_are_argon2_and_failures_are_limited(db: str) -> None:
    cara, _ = await accounts.add_coordinator("cara@example.org")
    with pytest.raises(ValidationError):
        await signin.set_password(cara, {"password": "x" * 20, "password_confirm": "y" * 20})
    await signin.set_password(
        cara, {"password": "a long passphrase", "password_confirm": "a long passphrase"}
    )
    stored = (await Coordinator.get(id=cara.id)).password_hash or ""
    assert stored.startswith("$argon2id$") and "passphrase" not in stored
    ok = await signin.sign_in_with_password("CARA@example.org", "a long passphrase", ip="1.1.1.1")
    assert ok.id == cara.id
    for _ in range(signin.PASSWORD_FAILURES.hits):
        with pytest.raises(ValidationError):
            await signin.sign_in_with_password("cara@example.org", "guess", ip="1.1.1.1")
    with pytest.raises(RateLimited):
        await signin.sign_in_with_password("cara@example.org", "a long passphrase", ip="1.1.1.1")
    # Another address from the same IP, or the same address elsewhere, is not locked.
    assert await signin.sign_in_with_password("cara@example.org", "a long passphrase", ip="2.2.2.2")
    with pytest.raises(ValidationError):
        await signin.sign_in_with_password("nobody@example.org", "a long passphrase", ip="1.1.1.1")
    await signin.remove_password(cara)
    with pytest.raises(ValidationError):
        await signin.sign_in_with_password("cara@example.org", "a long passphrase", ip="3.3.3.3")


async def test_password_guesses_are_limited_per_account_from_any_address(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller account limit than the real 20 (tests/web has that one), to spare argon2 time.
    monkeypatch.setattr(signin, "ACCOUNT_PASSWORD_FAILURES", Limit(6, 3600))
    cara, _ = await accounts.add_coordinator("cara@example.org")
    phrase = "a long passphrase"
    await signin.set_password(cara, {"password": phrase, "password_confirm": phrase})
    guesses = signin.ACCOUNT_PASSWORD_FAILURES.hits
    for n in range(guesses):  # each address stays under its own limit of 5
        with pytest.raises(ValidationError):
            await signin.sign_in_with_password("cara@example.org", "guess", ip=f"10.0.{n // 4}.{n}")
    with pytest.raises(RateLimited, match="email link"):
        await signin.sign_in_with_password("cara@example.org", phrase, ip="192.0.2.1")
    # Unknown addresses are counted alike, so the lock tells nobody who coordinates.
    for n in range(guesses):
        with pytest.raises(ValidationError):
            await signin.sign_in_with_password(
                "nobody@example.org", "guess", ip=f"10.1.{n // 4}.{n}"
            )
    with pytest.raises(RateLimited, match="email link"):
        await signin.sign_in_with_password("nobody@example.org", phrase, ip="192.0.2.1")
    # Other accounts are not locked.
    other, _ = await accounts.add_coordinator("other@example.org")
    await signin.set_password(other, {"password": phrase, "password_confirm": phrase})
    assert (
        await signin.sign_in_with_password("other@example.org", phrase, ip="192.0.2.1")
    ).id == other.id


async def test_api_tokens(db: str) -> None:
    cara, _ = await accounts.add_coordinator("cara@example.org")
    raw = await api_tokens.create_api_token(cara)
    assert (await api_tokens.coordinator_for_api_token(raw)).id == cara.id
    with pytest.raises(api_tokens.NotSignedIn):
        await api_tokens.coordinator_for_api_token("wrong")
    [token] = await api_tokens.list_api_tokens(cara)
    other, _ = await accounts.add_coordinator("other@example.org")
    with pytest.raises(NotFound):
        await api_tokens.revoke_api_token(other, str(token.id))  # not theirs
    await api_tokens.revoke_api_token(cara, str(token.id))
    with pytest.raises(api_tokens.NotSignedIn):
        await api_tokens.coordinator_for_api_token(raw)
    for _ in range(api_tokens.MAX_API_TOKENS):
        await api_tokens.create_api_token(cara)
    with pytest.raises(Conflict):
        await api_tokens.create_api_token(cara)


def campaign_form(**overrides: object) -> dict[str, object]:
    return {"slug": "winter-2026", "name": "Winter 2026", "is_public": "1", **overrides}


def problems(**overrides: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        campaign_input.parse_campaign_input(campaign_form(**overrides))
    return caught.value.fields


def test_campaign_input_checks_every_field() -> None:
    assert set(problems(slug="Winter 2026", name="")) == {"slug", "name"}
    assert "ends_on" in problems(starts_on="2026-12-10", ends_on="2026-12-01")
    assert "starts_on" in problems(starts_on="10/12/2026")
    assert "agenda" in problems(agenda="Welcome | 0")
    assert "agenda" in problems(agenda="Welcome")
    assert "agenda" in problems(agenda="\n".join(f"Item {i} | 5" for i in range(31)))
    assert "asks" in problems(asks="\n".join(f"a{i} | Ask {i}" for i in range(11)))
    assert "asks" in problems(asks="host | Host\nhost | Host again")
    assert "asks" in problems(asks="Bad Key! | Label")
    assert "goals.meetings" in problems(**{"goals.meetings": "lots"})
    assert "goals.people" in problems(**{"goals.people": "-1"})
    assert "guide_markdown" in problems(guide_markdown="x" * (MAX_GUIDE_CHARS + 1))


def test_campaign_input_from_a_form_or_json() -> None:
    data = campaign_input.parse_campaign_input(
        campaign_form(
            agenda="Welcome and introductions | 10\n\n  Stories | 30  ",
            asks="Host a meeting\nvolunteer | Volunteer",
            **{"goals.meetings": "300", "goals.commitments": ""},
            requires_approval="on",
        )
    )
    assert data.agenda == [
        {"title": "Welcome and introductions", "minutes": 10},
        {"title": "Stories", "minutes": 30},
    ]
    assert [a["key"] for a in data.asks] == ["host-a-meeting", "volunteer"]
    assert data.goals == {"meetings": 300}
    assert data.requires_approval and data.is_public
    same = campaign_input.parse_campaign_input(
        {
            "slug": "winter-2026",
            "name": "Winter 2026",
            "agenda": [{"title": "Welcome", "minutes": 10}],
            "asks": [{"key": "host", "label": "Host a meeting"}],
            "goals": {"meetings": 300},
            "is_public": True,
        }
    )
    assert same.agenda == [{"title": "Welcome", "minutes": 10}] and same.goals == {"meetings": 300}


async def test_only_admins_create_and_the_slug_never_changes(db: str) -> None:
    cara, _ = await accounts.add_coordinator("cara@example.org")
    boss, _ = await accounts.add_coordinator("boss@example.org", is_admin=True)
    data = campaign_input.parse_campaign_input(campaign_form())
    with pytest.raises(PermissionDenied):
        await campaigns.create_campaign(cara, data)
    campaign = await campaigns.create_campaign(boss, data)
    with pytest.raises(ValidationError):
        await campaigns.create_campaign(boss, data)  # the slug is taken
    await campaigns.update_campaign(
        boss, campaign, campaign_input.parse_campaign_input(campaign_form(slug="x", name="New"))
    )
    stored = await Campaign.get(id=campaign.id)
    assert (stored.slug, stored.name) == ("winter-2026", "New")
    round_trip = campaign_input.parse_campaign_input(campaign_input.campaign_form_values(stored))
    assert round_trip.as_fields() == {
        k: getattr(stored, k) for k in round_trip.as_fields()
    }  # the edit form shows exactly what is stored


async def test_hidden_meetings_vanish_from_public_pages(db: str) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    boss, _ = await accounts.add_coordinator("boss@example.org", is_admin=True)
    await moderation.hide_meeting(boss, created.meeting.public_id, {"reason": "Spam."}, site=SITE)
    with pytest.raises(MeetingNotFound):
        await get_meeting(created.meeting.public_id)
    with pytest.raises(Conflict):
        await moderation.hide_meeting(
            boss, created.meeting.public_id, {"reason": "Again."}, site=SITE
        )
    with pytest.raises(Conflict):
        await moderation.approve(boss, created.meeting.public_id, site=SITE)  # not pending
    meeting = await access.require_meeting(boss, created.meeting.public_id, need=access.Can.VIEW)
    assert meeting.status is MeetingStatus.HIDDEN


async def test_coordinators_vouch_for_the_hosts_of_their_own_meetings(db: str) -> None:
    await make_campaign("winter")
    await make_campaign("spring", name="Spring")
    mine = await make_meeting(campaign="winter")
    theirs = await make_meeting(campaign="spring", host={"email": "zed@example.org"})
    cara, _ = await accounts.add_coordinator("cara@example.org", campaign_slug="winter")
    meeting = await moderation.set_host_trust(cara, mine.meeting.public_id, trusted=True)
    assert meeting.host.trusted and (await Person.get(email="quinn@example.org")).trusted
    with pytest.raises(PermissionDenied):
        await moderation.set_host_trust(cara, theirs.meeting.public_id, trusted=True)
    assert not (await Person.get(email="zed@example.org")).trusted
    await moderation.set_host_trust(cara, mine.meeting.public_id, trusted=False)
    assert not (await Person.get(email="quinn@example.org")).trusted
    # The operator's way, by address.
    person, changed = await moderation.trust_person(" Zed@Example.org", trusted=True)
    assert (person.email, person.trusted, changed) == ("zed@example.org", True, True)
    assert (await moderation.trust_person("zed@example.org", trusted=True))[1] is False
    with pytest.raises(NotFound):
        await moderation.trust_person("nobody@example.org", trusted=True)


# --- The command line ---------------------------------------------------------------------


def test_kit_coordinator_add(clean_env: dict[str, str]) -> None:
    assert run_kit(clean_env, "migrate").returncode == 0
    with sqlite3.connect(Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3") as conn:
        conn.execute(
            "INSERT INTO campaign (slug, name, description, guide_markdown, agenda, asks, goals,"
            " requires_approval, is_public, created_at)"
            " VALUES ('winter', 'Winter', '', '', '[]', '[]', '{}', 0, 1,"
            " '2026-11-23 00:00:00+00:00')"
        )
    added = run_kit(clean_env, "coordinator", "add", "cara@example.org", "--campaign", "winter")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        "Added coordinator cara@example.org: coordinator; campaigns: winter"
    ]
    again = run_kit(
        clean_env, "coordinator", "add", "cara@example.org", "--admin", "--name", "Cara"
    )
    assert again.returncode == 0
    assert again.stdout.strip() == (
        "Updated coordinator cara@example.org: admin (every campaign); campaigns: winter"
    )
    unknown = run_kit(clean_env, "coordinator", "add", "cara@example.org", "--campaign", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == ["kit: There is no campaign called “nope”."]
    bad = run_kit(clean_env, "coordinator", "add", "not-an-email")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


# --- Exports --------------------------------------------------------------------------------


async def test_every_campaign_export_runs_no_formula_from_any_column(db: str) -> None:
    name, email, phone = '=HYPERLINK("http://x","y")', "+1@x.org", "-1 212 555 0100"
    campaign = await make_campaign("winter")
    host = {"name": name, "email": "+host@x.org", "phone": phone}
    meeting, _ = await held_meeting([], campaign=campaign.slug, host=host)
    walk_in = {"name": name, "email": email, "phone": phone, "consent": True}
    body = {"attendees": [{**walk_in, "commitments": ["volunteer"]}], "ideas": ["-rent caps"]}
    sheet = await reports.report_sheet(meeting)
    await reports.file_report(meeting, reports.parse_report_json(body, sheet), site=SITE)

    async def export(kind: str) -> list[dict[str, str]]:
        text = "".join([c async for c in exports.export_csv(kind, campaign.id)])
        rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:
            for column, cell in row.items():
                assert not cell.startswith(FORMULA_TRIGGERS), (kind, column, cell)
        return rows

    [held] = await export("meetings")
    assert (held["host_name"], held["host_email"], held["host_phone"]) == (
        "'" + name,
        "'+host@x.org",
        "'" + phone,
    )
    for kind in ("attendees", "commitments"):
        [row] = await export(kind)
        assert (row["name"], row["email"], row["phone"]) == ("'" + name, "'" + email, "'" + phone)
    [idea] = await export("ideas")
    assert idea["text"] == "'-rent caps"


async def test_kit_approve_is_in_the_audit_log_as_cli(db: str) -> None:
    from kit.store.models import AuditEntry

    await make_campaign("winter", requires_approval=True)
    created = await make_meeting(campaign="winter")
    assert created.meeting.status is MeetingStatus.PENDING
    meeting = await moderation.approve_from_cli(created.meeting.public_id, site=SITE)
    assert meeting.status is MeetingStatus.PUBLISHED
    [entry] = await AuditEntry.all()
    assert (entry.actor_label, entry.action, entry.meeting_id) == (  # type: ignore[attr-defined]
        "cli",
        "meeting.approve",
        meeting.id,
    )
    with pytest.raises(MeetingNotFound):  # twice: nothing waits any more, nothing written
        await moderation.approve_from_cli(created.meeting.public_id, site=SITE)
    assert await AuditEntry.all().count() == 1
