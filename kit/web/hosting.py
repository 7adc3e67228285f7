"""Pages for hosts: publish a meeting, then manage it with the private link."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from kit.coordinators import access
from kit.core import urls
from kit.core.errors import Conflict, KitError, RateLimited, ValidationError
from kit.core.rendering import plural
from kit.core.validation import email as email_field
from kit.core.validation import flatten, phone, text
from kit.meetings import host_access, hosttools, rsvps
from kit.meetings import service as meetings
from kit.meetings.public import public_meeting
from kit.printables import context as printing
from kit.reports import service as reports
from kit.store.models import Coordinator, Meeting, RsvpStatus
from kit.web.coordinators import current_coordinator
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict, read_json
from kit.web.host_page import HostPage, host_page
from kit.web.limits import client_ip, limit_publishing
from kit.web.templating import render

HONEYPOT = "website"  # hidden from people; bots fill it in
PREFILL = (
    "title",
    "campaign",
    "host.name",
    "host.email",
    "address.locality",
    "address.postal_code",
    "address.country",
    "grew_from",  # set by a host invitation: the meeting this one grew from
)


PROVEN = "proven_hosts"  # session: addresses this browser proved by a confirmation link
MAX_PROVEN = 5


def _form_values(form: dict[str, str]) -> dict[str, Any]:
    # An unticked checkbox sends nothing: a full form means "off".
    return {
        **form,
        "reply_to_host": form.get("reply_to_host", ""),
        "waitlist": form.get("waitlist", ""),
        "approve_guests": form.get("approve_guests", ""),
    }


def proven_emails(request: Request) -> frozenset[str]:
    value = request.session.get(PROVEN)
    return (
        frozenset(e for e in value if isinstance(e, str))
        if isinstance(value, list)
        else frozenset()
    )


def remember_proof(request: Request, email: str) -> None:
    """This browser followed the link emailed to ``email``: its next meetings skip it."""
    kept = [e for e in request.session.get(PROVEN, []) if isinstance(e, str) and e != email]
    request.session[PROVEN] = [email, *kept][:MAX_PROVEN]


OUTSIDE_WINDOW = "outside_window"  # a coordinator's "publish it outside the dates anyway"
NOT_YET = (
    "Not saved yet: the date is outside the campaign's dates. Pick another date, or tick "
    "“Publish it outside the campaign's dates anyway” beside it."
)


@dataclass(frozen=True)
class WindowChoice:
    """Whether a date outside the campaign's window is refused, and who decided if not."""

    coordinator: Coordinator | None  # a signed-in coordinator who may override, else None
    override: bool  # they ticked the box

    def options(self) -> dict[str, Any]:
        """The use case's arguments: ``in_window_only`` and the coordinator to audit."""
        return {"in_window_only": not self.override, "coordinator": self.coordinator}

    def context(self, exc: ValidationError) -> dict[str, Any]:
        """The form's errors; for a coordinator, the window problem as a warning instead."""
        if self.coordinator is None or not isinstance(exc, meetings.OutsideCampaign):
            return {"errors": exc.fields}
        errors = {k: message for k, message in exc.fields.items() if k != "starts_at"}
        return {"errors": errors, "window_warning": exc.window}


async def window_choice(request: Request, form: dict[str, str], campaign: str) -> WindowChoice:
    """Only a coordinator session whose role lets it manage ``campaign`` may tick the box:
    from anyone else the field is ignored, even if forged into the POST."""
    coordinator = await current_coordinator(request)
    if not await access.may_date_outside_window(coordinator, campaign):
        return WindowChoice(None, False)
    return WindowChoice(coordinator, form.get(OUTSIDE_WINDOW) == "1")


def _host_page(request: Request, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # A random value per form: sending the same form twice makes one meeting.
    submission = values.get("submission") or secrets.token_urlsafe(16)
    return {"values": {**values, "submission": submission}, "errors": {}, **extra}


async def host_form(request: Request) -> Response:
    if request.method == "GET":
        values = {k: request.query_params[k] for k in PREFILL if k in request.query_params}
        values = {**await meetings.campaign_place(values.get("campaign", "")), **values}
        return render(request, "meetings/host.html", _host_page(request, values))
    form = form_to_dict(await read_form(request))
    if form.get(HONEYPOT):
        return render(
            request,
            "meetings/host.html",
            {"values": form, "errors": {HONEYPOT: "Please leave this field empty."}},
            status_code=422,
        )
    state = request.app.state
    window = await window_choice(request, form, form.get("campaign", ""))
    try:
        data = meetings.parse_meeting_input(_form_values(form))
        await limit_publishing(request)  # after the form is right: fixing typos is free
        result = await meetings.create_meeting(
            data,
            geocoder=state.geocoder,
            site=state.settings,
            submission=form.get("submission", "")[:200],
            proven_emails=proven_emails(request),
            **window.options(),
        )
    except ValidationError as exc:
        context = {
            "values": form,
            **window.context(exc),
            "place_choices": meetings.town_choices(exc),
        }
        return render(request, "meetings/host.html", context, status_code=422)
    except RateLimited as exc:
        # Keep what was typed: the host can publish it once the limit has passed.
        response = render(
            request,
            "meetings/host.html",
            {"values": form, "errors": {"_limit": exc.message}},
            status_code=exc.status_code,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    url = f"/manage/{result.meeting.public_id}?token={result.manage_token}&created=1"
    return RedirectResponse(url, status_code=303)


async def render_manage(
    request: Request,
    meeting: Meeting,
    token: str,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    section: str | None = None,
    status_code: int = 200,
    place_choices: list[tuple[str, str]] | None = None,
    window_warning: str = "",
) -> Response:
    """The host's page: details form, guest list, messages, invitations, share link.

    ``section`` is the id of the part of the page the form came from: its action URL ends
    in that #fragment, so the browser lands back there, and the notice and error summary
    show there instead of at the top of a long page.
    """
    site = request.app.state.settings
    guests = await hosttools.guest_list(meeting)
    if window_warning and not errors:
        notice = NOT_YET  # the warning is beside the date; this says why nothing was saved
    context = {
        "meeting": meeting,
        "token": token,
        "awaiting": meeting.status.value == "awaiting",
        "manage_url": urls.manage(site.base_url, meeting.public_id, token),
        "public_url": urls.meeting(site.base_url, meeting.public_id),
        "share_url": hosttools.share_url(meeting, site),
        "guests": guests,
        "placement": meetings.describe_placement(meeting),
        "guest_refs": {r.id: rsvps.rsvp_ref(r) for r in guests.rsvps},
        "agenda": printing.agenda_slots(meeting),
        "report_link": reports.report_link(meeting, token, site),
        "values": values or flatten(meetings.meeting_as_input(meeting)),
        "errors": errors or {},
        "notice": None if section else notice,
        "section_notice": notice if section else None,
        "notice_in": section,
        "requested": sum(r.status is RsvpStatus.REQUESTED for r in guests.rsvps),
        "place_choices": place_choices or [],  # "Did you mean…?" for a town several share
        "window_warning": window_warning,
    }
    return render(request, "meetings/manage.html", context, status_code=status_code)


def arrival_notice(meeting: Meeting, query: Mapping[str, str]) -> str | None:
    """What the manage page says when the host arrives from publishing or confirming."""
    if query.get("created") and meeting.status.value == "awaiting":
        return (
            f"Almost done! We've emailed a link to {meeting.host.email}. Open it to confirm "
            "your address, and your meeting goes live."
        )
    if query.get("created"):
        return "Your meeting is ready. Keep this page's link: it's your key."
    if query.get("confirmed"):
        return "Thank you: your email is confirmed. " + (
            "A coordinator will look at your meeting before it shows up in search."
            if meeting.status.value == "pending"
            else "Your meeting is live. This page's new link is in your email too."
        )
    return None


async def render_refused(
    request: Request,
    page: HostPage,
    exc: KitError,
    *,
    section: str,
    values: dict[str, Any] | None = None,
) -> Response:
    """The manage page again after a form was refused, keeping what was typed: a
    ValidationError beside its fields, any other problem as the section's notice."""
    invalid = isinstance(exc, ValidationError)
    return await render_manage(
        request,
        page.meeting,
        page.token,
        values=values or {**page.form},
        errors=exc.fields if invalid else None,
        notice=None if invalid else exc.message,
        section=section,
        status_code=exc.status_code,
    )


async def manage(request: Request) -> Response:
    page = await host_page(request)
    if request.method == "GET":
        notice = arrival_notice(page.meeting, request.query_params)
        return await render_manage(request, page.meeting, page.token, notice=notice)
    meeting, token, form = page.meeting, page.token, page.form
    state = request.app.state
    window = await window_choice(request, form, meeting.campaign.slug if meeting.campaign else "")
    try:
        meeting = await meetings.update_meeting(
            meeting,
            _form_values(form),
            geocoder=state.geocoder,
            site=state.settings,
            **window.options(),
        )
    except ValidationError as exc:
        found = window.context(exc)
        return await render_manage(
            request,
            meeting,
            token,
            values=form,
            errors=found["errors"],
            window_warning=found.get("window_warning", ""),
            section="edit",
            status_code=422,
            place_choices=meetings.town_choices(exc),
        )
    return await render_manage(
        request, meeting, token, notice="Your changes are saved.", section="edit"
    )


async def host_again(request: Request) -> Response:
    """The host form filled in from one of the host's meetings (a POST: no token in a URL)."""
    meeting = (await host_page(request)).meeting
    values = flatten(meetings.repeat_input(meeting))
    return render(request, "meetings/host.html", _host_page(request, values, again=meeting))


async def manage_cancel(request: Request) -> Response:
    page = await host_page(request)
    meeting = await meetings.cancel_meeting(page.meeting, site=request.app.state.settings)
    notice = "Your meeting is cancelled. Your guests are being told."
    return await render_manage(request, meeting, page.token, notice=notice, section="summary")


HostTool = Callable[..., Awaitable[int]]


async def _host_tool(
    request: Request, section: str, action: HostTool, done: str, nouns: tuple[str, str]
) -> Response:
    """A manage-page form that emails people: ``done`` says how many, with ``nouns``."""
    page = await host_page(request)
    try:
        count = await action(page.meeting, page.form, site=request.app.state.settings)
    except (ValidationError, Conflict, RateLimited) as exc:  # e.g. not published yet, too many
        return await render_refused(request, page, exc, section=section)
    notice = done.format(n=plural(count, *nouns))
    return await render_manage(request, page.meeting, page.token, notice=notice, section=section)


async def manage_message(request: Request) -> Response:
    """The host's message to their guests."""
    done = "Your message is on its way to {n}."
    return await _host_tool(request, "message", hosttools.message_guests, done, ("guest", "guests"))


async def manage_invite(request: Request) -> Response:
    """The host invites friends by email."""
    done = "{n} sent. Thank you for reaching out!"
    nouns = ("invitation", "invitations")
    return await _host_tool(request, "invite", hosttools.invite_friends, done, nouns)


async def manage_notify(request: Request) -> Response:
    page = await host_page(request)
    await hosttools.set_host_notify(page.meeting, page.form.get("host_notify", ""))
    page = await page.reloaded()
    notice = "Your email preference is saved."
    return await render_manage(request, page.meeting, page.token, notice=notice, section="notify")


async def guests_csv(request: Request) -> Response:
    meeting = (await host_page(request)).meeting
    body = hosttools.guests_csv(meeting, await hosttools.guest_list(meeting))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="guests-{meeting.public_id}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


async def recover(request: Request) -> Response:
    """Email fresh manage links; the answer never says whether the address hosts anything."""
    if request.method == "GET":
        return render(request, "meetings/recover.html", {"email": "", "errors": {}, "sent": False})
    form = form_to_dict(await read_form(request))
    problems: dict[str, str] = {}
    address = email_field(form, "email", problems)
    context: dict[str, Any] = {"email": form.get("email", ""), "errors": problems, "sent": False}
    if problems:
        return render(request, "meetings/recover.html", context, status_code=422)
    try:
        await host_access.send_manage_links(
            address, client=client_ip(request), site=request.app.state.settings
        )
    except RateLimited as exc:
        context["errors"] = {"_limit": exc.message}
        response = render(request, "meetings/recover.html", context, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(request, "meetings/recover.html", {"email": address, "errors": {}, "sent": True})


async def manage_resend(request: Request) -> Response:
    """Send the confirmation email again (a meeting still waiting for its host's proof)."""
    page = await host_page(request)
    meeting, token = page.meeting, page.token
    try:
        await host_access.resend_confirmation(meeting, request.app.state.settings)
    except (Conflict, RateLimited) as exc:
        return await render_manage(request, meeting, token, notice=exc.message, section="confirm")
    notice = f"We've sent the confirmation link to {meeting.host.email} again."
    return await render_manage(request, meeting, token, notice=notice, section="confirm")


async def manage_relink(request: Request) -> Response:
    """Switch off every link to this page and carry on with a new one (also emailed)."""
    meeting = (await host_page(request)).meeting
    token = await host_access.replace_manage_links(meeting, request.app.state.settings)
    notice = "Done: every older link to this page is switched off. Your new link is in your email."
    return await render_manage(request, meeting, token, notice=notice, section="links")


GUEST_ACTIONS = {
    "approve": "{name} is welcome: they're getting the details now.",
    "decline": "{name}'s request is declined; they've been told kindly.",
    "remove": "{name} is off the guest list and has been told kindly.",
}


async def manage_guest_approve(request: Request) -> Response:
    return await _guest_action(request, "approve")


async def manage_guest_decline(request: Request) -> Response:
    return await _guest_action(request, "decline")


async def manage_guest_remove(request: Request) -> Response:
    return await _guest_action(request, "remove")


async def _guest_action(request: Request, action: str) -> Response:
    """The host approves, declines or removes one guest."""
    page = await host_page(request)
    meeting, token = page.meeting, page.token
    site = request.app.state.settings
    try:
        rsvp = await rsvps.find_guest(meeting, page.form.get("guest", ""))
        if action == "approve":
            await rsvps.approve_guest(rsvp, site=site)
        else:
            await rsvps.cancel_rsvp(rsvp, site=site, by_host=True)
    except KitError as exc:
        return await render_manage(
            request,
            meeting,
            token,
            notice=exc.message,
            section="guests",
            status_code=exc.status_code,
        )
    page = await page.reloaded()
    notice = GUEST_ACTIONS[action].format(name=rsvp.person.first_name)
    return await render_manage(request, page.meeting, token, notice=notice, section="guests")


async def confirm_host(request: Request) -> Response:
    """The page a new host's confirmation link opens; pressing Publish proves the mailbox."""
    raw = request.path_params["token"]
    form = form_to_dict(await read_form(request)) if request.method == "POST" else {}
    meeting = await host_access.check_confirmation(raw)
    if request.method == "GET":
        values = {"name": meeting.host.name, "phone": meeting.host.phone or ""}
        context = {"meeting": meeting, "values": values, "errors": {}}
        return render(request, "meetings/confirm.html", context)
    problems: dict[str, str] = {}
    name = text(form, "name", problems, label="Your name", max_length=120, required=True)
    number = phone(form, "phone", problems)
    if problems:
        context = {"meeting": meeting, "values": form, "errors": problems}
        return render(request, "meetings/confirm.html", context, status_code=422)
    meeting, token = await host_access.confirm_host(
        raw, name=name, phone=number, site=request.app.state.settings
    )
    remember_proof(request, meeting.host.email)
    return RedirectResponse(
        f"/manage/{meeting.public_id}?token={token}&confirmed=1", status_code=303
    )


async def meetings_create(request: Request) -> Response:
    """
    ---
    summary: Publish a meeting (no account needed)
    operationId: createMeeting
    description: >-
      Times are local at the meeting's place and start from now to two years ahead.
      A local time the clocks skip (spring forward) is a 422 on `starts_at` (or
      `ends_at`) naming the two times that exist; one the clocks show twice (fall
      back) is a 422 on it and on `starts_at_fold` until that says `first` or `second`.
    parameters:
      - name: Idempotency-Key
        in: header
        required: false
        description: A random value; repeating a request with it returns the first meeting.
        schema: {type: string, maxLength: 200}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/MeetingInput"}
    responses:
      "201":
        description: >-
          Created (or, with the same `Idempotency-Key` header, the meeting the first
          request made). `manage_url` is the host's private key; keep it secret. A new
          host's meeting is `awaiting` until they open the link emailed to them.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/MeetingCreated"}
      "400": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
      "429": {$ref: "#/components/responses/Error"}
    """
    state = request.app.state
    data = meetings.parse_meeting_input(await read_json(request))
    await limit_publishing(request)
    result = await meetings.create_meeting(
        data,
        geocoder=state.geocoder,
        site=state.settings,
        submission=request.headers.get("idempotency-key", "")[:200],
    )
    meeting = result.meeting
    base = state.settings.base_url
    body: dict[str, Any] = {
        "id": meeting.public_id,
        "url": urls.meeting(base, meeting.public_id),
        "status": str(meeting.status),
        "manage_url": urls.manage(base, meeting.public_id, result.manage_token),
        "message": hosting_message(result),
    }
    return JSONResponse(body, status_code=201)


def hosting_message(result: meetings.CreatedMeeting) -> str:
    if result.awaiting_email:
        return (
            f"Almost done: we've emailed a link to {result.meeting.host.email}. Open it to "
            "confirm your address, and your meeting goes live."
        )
    if result.meeting.status.value == "pending":
        return "A coordinator will look at your meeting before it shows up in search."
    return "Your meeting is live."


async def meeting_update(request: Request) -> Response:
    """
    ---
    summary: Change a meeting (host only)
    operationId: updateMeeting
    description: >-
      Times are checked as when publishing (see createMeeting); a start left unchanged
      may be in the past. A new time that the clocks show twice needs its own
      `starts_at_fold` (or `ends_at_fold`): the old time's choice is not carried over.
    security: [{manageToken: []}]
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/MeetingChanges"}
    responses:
      "200":
        description: The meeting as the public now sees it.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    state = request.app.state
    meeting = (await host_page(request)).meeting
    changes = await read_json(request)
    meeting = await meetings.update_meeting(
        meeting, changes, geocoder=state.geocoder, site=state.settings
    )
    return JSONResponse(public_meeting(meeting, state.settings.base_url, detail=True))


async def meeting_cancel(request: Request) -> Response:
    """
    ---
    summary: Cancel a meeting (host only)
    operationId: cancelMeeting
    security: [{manageToken: []}]
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: Cancelled.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
    """
    meeting = (await host_page(request)).meeting
    meeting = await meetings.cancel_meeting(meeting, site=request.app.state.settings)
    return JSONResponse(public_meeting(meeting, request.app.state.settings.base_url, detail=True))
