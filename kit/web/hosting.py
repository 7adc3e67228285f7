"""Pages for hosts: publish a meeting, then manage it with the private link."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kit import meetings
from kit.errors import ValidationError
from kit.models import Meeting
from kit.validation import email as email_field
from kit.validation import flatten
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict

HONEYPOT = "website"  # hidden from people; bots fill it in
PREFILL = (
    "title",
    "campaign",
    "host.name",
    "host.email",
    "address.locality",
    "address.postal_code",
    "address.country",
)


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )


def _form_values(form: dict[str, str]) -> dict[str, Any]:
    # An unticked checkbox sends nothing: a full form means "off".
    return {**form, "reply_to_host": form.get("reply_to_host", "")}


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
        result = await meetings.create_meeting(
            data,
            geocoder=state.geocoder,
            site=state.settings,
        )
    except ValidationError as exc:
        return render(
            request, "meetings/host.html", {"values": form, "errors": exc.fields}, status_code=422
        )
    if result.manage_token is None:
        return render(request, "meetings/host_duplicate.html", {"meeting": result.meeting})
    url = f"/manage/{result.meeting.public_id}?token={result.manage_token}&created=1"
    return RedirectResponse(url, status_code=303)


def _manage_context(request: Request, meeting: Meeting, token: str, **extra: Any) -> dict[str, Any]:
    base = request.app.state.settings.base_url
    return {
        "meeting": meeting,
        "token": token,
        "manage_url": meetings.manage_url(base, meeting, token),
        "public_url": meetings.meeting_url(base, meeting),
        **extra,
    }


async def manage(request: Request) -> Response:
    public_id = request.path_params["id"]
    if request.method == "GET":
        token = request.query_params.get("token", "")
        meeting = await meetings.get_managed_meeting(public_id, token)
        notice = (
            "Your meeting is ready. Keep this page's link: it's your key."
            if request.query_params.get("created")
            else None
        )
        values = flatten(meetings.meeting_as_input(meeting))
        return render(
            request,
            "meetings/manage.html",
            _manage_context(request, meeting, token, values=values, errors={}, notice=notice),
        )
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(public_id, token)
    state = request.app.state
    try:
        meeting = await meetings.update_meeting(
            meeting,
            _form_values(form),
            geocoder=state.geocoder,
            site=state.settings,
        )
    except ValidationError as exc:
        return render(
            request,
            "meetings/manage.html",
            _manage_context(request, meeting, token, values=form, errors=exc.fields),
            status_code=422,
        )
    values = flatten(meetings.meeting_as_input(meeting))
    return render(
        request,
        "meetings/manage.html",
        _manage_context(
            request, meeting, token, values=values, errors={}, notice="Your changes are saved."
        ),
    )


async def manage_cancel(request: Request) -> Response:
    form = form_to_dict(await read_form(request))
    token = form.get("token", "")
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    meeting = await meetings.cancel_meeting(meeting, site=request.app.state.settings)
    values = flatten(meetings.meeting_as_input(meeting))
    return render(
        request,
        "meetings/manage.html",
        _manage_context(
            request, meeting, token, values=values, errors={}, notice="Your meeting is cancelled."
        ),
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
