"""Pages for hosts: publish a meeting, then manage it with the private link."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kit import hosttools, meetings, printing, reports
from kit.errors import RateLimited, ValidationError
from kit.models import Meeting
from kit.validation import email as email_field
from kit.validation import flatten
from kit.web.csrf import read_form
from kit.web.forms import bearer_token, form_to_dict
from kit.web.limits import limit_publishing
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


def _form_values(form: dict[str, str]) -> dict[str, Any]:
    # An unticked checkbox sends nothing: a full form means "off".
    return {
        **form,
        "reply_to_host": form.get("reply_to_host", ""),
        "waitlist": form.get("waitlist", ""),
    }


async def host_form(request: Request) -> Response:
    if request.method == "GET":
        values = {k: request.query_params[k] for k in PREFILL if k in request.query_params}
        return render(request, "meetings/host.html", {"values": values, "errors": {}})
    form = form_to_dict(await read_form(request))
    if form.get(HONEYPOT):
        return render(
            request,
            "meetings/host.html",
            {"values": form, "errors": {HONEYPOT: "Please leave this field empty."}},
            status_code=422,
        )
    state = request.app.state
    try:
        data = meetings.parse_meeting_input(_form_values(form))
        await limit_publishing(request)  # after the form is right: fixing typos is free
        result = await meetings.create_meeting(
            data,
            geocoder=state.geocoder,
            site=state.settings,
        )
    except ValidationError as exc:
        return render(
            request, "meetings/host.html", {"values": form, "errors": exc.fields}, status_code=422
        )
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
    if result.manage_token is None:
        return render(request, "meetings/host_duplicate.html", {"meeting": result.meeting})
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
    status_code: int = 200,
) -> Response:
    """The host's page: details form, guest list, messages, invitations, share link."""
    site = request.app.state.settings
    context = {
        "meeting": meeting,
        "token": token,
        "manage_url": meetings.manage_url(site.base_url, meeting, token),
        "public_url": meetings.meeting_url(site.base_url, meeting),
        "share_url": hosttools.share_url(meeting, site),
        "guests": await hosttools.guest_list(meeting),
        "agenda": printing.agenda_slots(meeting),
        "report_link": reports.report_link(meeting, token, site),
        "values": values or flatten(meetings.meeting_as_input(meeting)),
        "errors": errors or {},
        "notice": notice,
    }
    return render(request, "meetings/manage.html", context, status_code=status_code)


async def manage(request: Request) -> Response:
    public_id = request.path_params["id"]
    if request.method == "GET":
        token = request.query_params.get("token", "")
        meeting = await meetings.get_managed_meeting(public_id, token)
        created = request.query_params.get("created")
        notice = "Your meeting is ready. Keep this page's link: it's your key." if created else None
        return await render_manage(request, meeting, token, notice=notice)
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(public_id, token)
    state = request.app.state
    try:
        meeting = await meetings.update_meeting(
            meeting, _form_values(form), geocoder=state.geocoder, site=state.settings
        )
    except ValidationError as exc:
        return await render_manage(
            request, meeting, token, values=form, errors=exc.fields, status_code=422
        )
    return await render_manage(request, meeting, token, notice="Your changes are saved.")


async def host_again(request: Request) -> Response:
    """The host form filled in from one of the host's meetings (a POST: no token in a URL)."""
    form = form_to_dict(await read_form(request))
    meeting = await meetings.get_managed_meeting(request.path_params["id"], form.get("token", ""))
    values = flatten(meetings.repeat_input(meeting))
    return render(request, "meetings/host.html", {"values": values, "errors": {}, "again": meeting})


async def manage_cancel(request: Request) -> Response:
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    meeting = await meetings.cancel_meeting(meeting, site=request.app.state.settings)
    return await render_manage(
        request, meeting, token, notice="Your meeting is cancelled. Your guests are being told."
    )


HOST_TOOLS = {
    "message": (hosttools.message_guests, "Your message is on its way to {n} guest(s)."),
    "invite": (hosttools.invite_friends, "{n} invitation(s) sent. Thank you for reaching out!"),
}


async def manage_tool(request: Request) -> Response:
    """The host's message-your-guests and invite-friends forms."""
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    action, notice = HOST_TOOLS[request.url.path.rsplit("/", 1)[1]]
    try:
        count = await action(meeting, form, site=request.app.state.settings)
    except ValidationError as exc:
        return await render_manage(
            request, meeting, token, values={**form}, errors=exc.fields, status_code=422
        )
    return await render_manage(request, meeting, token, notice=notice.format(n=count))


async def manage_notify(request: Request) -> Response:
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    await hosttools.set_host_notify(meeting, form.get("host_notify", ""))
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    return await render_manage(request, meeting, token, notice="Your email preference is saved.")


async def guests_csv(request: Request) -> Response:
    token = request.query_params.get("token") or bearer_token(request)
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    body = hosttools.guests_csv(await hosttools.guest_list(meeting))
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
    if problems:
        return render(
            request,
            "meetings/recover.html",
            {"email": form.get("email", ""), "errors": problems, "sent": False},
            status_code=422,
        )
    await meetings.send_fresh_manage_links(address, request.app.state.settings)
    return render(request, "meetings/recover.html", {"email": address, "errors": {}, "sent": True})
