"""Pages and API for neighbors: RSVP, their private RSVP link, calendar files, unsubscribe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from kit.core import urls
from kit.core.errors import Conflict, NotFound, ValidationError
from kit.meetings import cards, feeds, notifications, rsvps
from kit.meetings import service as meetings
from kit.meetings.calendar_events import calendar_links, render_public_ics
from kit.meetings.public import public_event_ld, public_meeting
from kit.reports import outcomes
from kit.store.models import EmailOptOut, Meeting, Rsvp, RsvpStatus
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict, read_json
from kit.web.limits import limit_rsvps
from kit.web.templating import render

HONEYPOT = "website"
ICS = "text/calendar; charset=utf-8"
THANKS = "rsvp_thanks"  # session: what the last RSVP form's sender is told


def receipt_message(receipt: rsvps.RsvpReceipt) -> str:
    where = f"we've emailed your details to {receipt.email}"
    if receipt.status is RsvpStatus.CONFIRMED:
        return f"You're in: {where}, with the address and a calendar invite."
    if receipt.status is RsvpStatus.REQUESTED:
        return f"Thanks! The host approves each guest; {where}, and you'll hear back soon."
    return f"The meeting is full, so you're on the waitlist: {where}."


def render_meeting_page(
    request: Request,
    meeting: Meeting,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    outcomes: Any = None,
) -> Response:
    base_url = request.app.state.settings.base_url
    data = public_meeting(meeting, base_url, detail=True)
    context = {
        "meeting": meeting,
        "public": data,
        "calendar": calendar_links(meeting, base_url=base_url, exact=False),
        "json_ld": public_event_ld(data),
        "values": values
        or {
            "ref": request.query_params.get("ref", ""),
            "source": request.query_params.get("source", ""),
        },
        "errors": errors or {},
        "outcomes": outcomes,
    }
    return render(request, "meetings/detail.html", context, status_code=status_code)


async def meeting_detail(request: Request) -> Response:
    meeting = await meetings.get_meeting(request.path_params["id"])
    return render_meeting_page(request, meeting, outcomes=await outcomes.meeting_outcomes(meeting))


async def rsvp_form(request: Request) -> Response:
    form = form_to_dict(await read_form(request))
    meeting = await meetings.get_meeting(request.path_params["id"])
    if form.get(HONEYPOT):
        return render_meeting_page(
            request,
            meeting,
            values=form,
            status_code=422,
            errors={HONEYPOT: "Please leave this field empty."},
        )
    try:
        await limit_rsvps(request, meeting)
        receipt = await rsvps.record_rsvp(
            meeting, rsvps.parse_rsvp_input(form), site=request.app.state.settings
        )
    except ValidationError as exc:
        return render_meeting_page(
            request, meeting, values=form, errors=exc.fields, status_code=422
        )
    except Conflict as exc:
        return render_meeting_page(
            request, meeting, values=form, status_code=409, errors={"_form": exc.message}
        )
    # The thank-you page shows what the form's sender may know: their own address and
    # what the seats allow. The link to the RSVP itself went to that mailbox.
    request.session[THANKS] = {
        "meeting": meeting.public_id,
        "email": receipt.email,
        "status": str(receipt.status),
    }
    return RedirectResponse(f"/meetings/{meeting.public_id}/thanks", status_code=303)


async def rsvp_thanks(request: Request) -> Response:
    meeting = await meetings.get_meeting(request.path_params["id"])
    thanks = request.session.get(THANKS)
    if not isinstance(thanks, dict) or thanks.get("meeting") != meeting.public_id:
        return RedirectResponse(f"/meetings/{meeting.public_id}", status_code=303)
    context = {
        "meeting": meeting,
        "public": public_meeting(meeting, request.app.state.settings.base_url, detail=True),
        "email": str(thanks.get("email", "")),
        "status": str(thanks.get("status", "")),
    }
    return render(request, "meetings/thanks.html", context)


async def rsvp_create(request: Request) -> Response:
    """
    ---
    summary: RSVP to a meeting
    operationId: createRsvp
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/RsvpInput"}
    responses:
      "202":
        description: >-
          Accepted. The answer is the same whether the address was known or not; the
          link to the RSVP (and the exact address, once confirmed) goes to that mailbox.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/RsvpAccepted"}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
      "429": {$ref: "#/components/responses/Error"}
    """
    meeting = await meetings.get_meeting(request.path_params["id"], meetings.TO_RSVP)
    body = await read_json(request)
    data = rsvps.parse_rsvp_input(body)
    await limit_rsvps(request, meeting)
    receipt = await rsvps.record_rsvp(meeting, data, site=request.app.state.settings)
    body = {
        "status": str(receipt.status),
        "email": receipt.email,
        "message": receipt_message(receipt),
    }
    return JSONResponse(body, status_code=202)


async def render_rsvp_page(
    request: Request,
    rsvp: Rsvp,
    token: str,
    *,
    notice: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    feed_url: str | None = None,
    confirm_cancel: bool = False,
) -> Response:
    """The guest's private page, reached only from a link emailed to them.

    ``confirm_cancel`` shows "Cancel your RSVP?" with the button that does it."""
    exact = await rsvps.reveal_address(rsvp.meeting, rsvp, datetime.now(UTC))
    base_url = request.app.state.settings.base_url
    context = {
        "rsvp": rsvp,
        "meeting": rsvp.meeting,
        "token": token,
        "exact": exact,
        # The exact address only once it was sent to this (confirmed) guest.
        "calendar": calendar_links(rsvp.meeting, base_url=base_url, exact=exact),
        "values": values
        or {
            "name": rsvp.person.name,
            "phone": rsvp.person.phone or "",
            "note": rsvp.note,
            "consent": rsvp.consent,
            "guests": rsvp.guests,
        },
        "errors": errors or {},
        "notice": notice,
        "feed_url": feed_url,
        "confirm_cancel": confirm_cancel,
    }
    response = render(request, "rsvps/manage.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "private, no-store"
    return response


async def rsvp_manage(request: Request) -> Response:
    token = request.path_params["token"]
    form = form_to_dict(await read_form(request)) if request.method == "POST" else {}
    rsvp = await rsvps.get_rsvp_by_token(token)
    if request.method == "GET":
        asking = request.query_params.get("cancel") == "ask"
        return await render_rsvp_page(request, rsvp, token, confirm_cancel=asking)
    if "consent" not in form and "name" in form:
        form["consent"] = ""  # an unticked box sends nothing: a full form means "no"
    try:
        changes = rsvps.parse_guest_changes(form, rsvp)
        rsvp = await rsvps.update_rsvp(rsvp, changes, site=request.app.state.settings)
    except ValidationError as exc:
        return await render_rsvp_page(
            request, rsvp, token, values=form, errors=exc.fields, status_code=422
        )
    except Conflict as exc:
        return await render_rsvp_page(request, rsvp, token, notice=exc.message, status_code=409)
    return await render_rsvp_page(request, rsvp, token, notice="Your RSVP is updated.")


async def rsvp_cancel(request: Request) -> Response:
    token = request.path_params["token"]
    await read_form(request)
    rsvp = await rsvps.get_rsvp_by_token(token)
    await rsvps.cancel_rsvp(rsvp, site=request.app.state.settings)
    rsvp = await rsvps.get_rsvp_by_token(token)
    return await render_rsvp_page(
        request, rsvp, token, notice="Your RSVP is cancelled. Thanks for letting the host know."
    )


async def rsvp_feed_link(request: Request) -> Response:
    """A private calendar feed of all the guest's meetings (other feed links keep working)."""
    token = request.path_params["token"]
    await read_form(request)
    rsvp = await rsvps.get_rsvp_by_token(token)
    feed_token = await feeds.new_person_feed_token(rsvp.person)
    url = urls.person_feed(request.app.state.settings.base_url, feed_token)
    return await render_rsvp_page(
        request,
        rsvp,
        token,
        feed_url=url,
        notice="Here is your private calendar link. Keep it to yourself.",
    )


async def rsvp_feed_revoke(request: Request) -> Response:
    """Switch off every private calendar link of this guest (a lost phone, a shared link)."""
    token = request.path_params["token"]
    await read_form(request)
    rsvp = await rsvps.get_rsvp_by_token(token)
    count = await feeds.revoke_person_feeds(rsvp.person)
    notice = (
        f"Done: {count} calendar link{'s' if count != 1 else ''} switched off."
        if count
        else "You had no calendar links to switch off."
    )
    return await render_rsvp_page(request, rsvp, token, notice=notice)


async def meeting_ics(request: Request) -> Response:
    meeting = await meetings.get_meeting(request.path_params["id"])
    site = request.app.state.settings
    body = render_public_ics(meeting, base_url=site.base_url, organizer_email=site.mail_from)
    return Response(
        body,
        media_type=ICS,
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.public_id}.ics"'},
    )


async def meeting_card(request: Request) -> Response:
    """The og:image a shared link previews with: title, day and town, nothing private."""
    meeting = await meetings.get_meeting(request.path_params["id"])
    body = await cards.render_meeting_card(meeting)
    return Response(body, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


async def unsubscribe(request: Request) -> Response:
    """GET asks to confirm; POST (from the page or a mail client's one-click) does it.

    The signed token authenticates the POST, so it needs no CSRF token: mail
    providers send RFC 8058 one-click requests without any cookie.
    """
    site = request.app.state.settings
    email = notifications.email_from_unsubscribe_token(
        request.path_params["token"], site.secret_key
    )
    if email is None:
        raise NotFound("That unsubscribe link is not valid.")
    done = False
    if request.method == "POST":
        await EmailOptOut.get_or_create(email=email)
        done = True
    return render(request, "unsubscribe.html", {"email": email, "done": done})


async def meeting_detail_json(request: Request) -> Response:
    """
    ---
    summary: A meeting's public details
    operationId: getMeeting
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: Public fields; a home's location is approximate.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "404": {$ref: "#/components/responses/Error"}
    """
    meeting = await meetings.get_meeting(request.path_params["id"])
    return JSONResponse(public_meeting(meeting, request.app.state.settings.base_url, detail=True))
