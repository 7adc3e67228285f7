"""Reporting a meeting: the form on the meeting page and its JSON twin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kit.coordinators import flags
from kit.core.errors import ValidationError
from kit.meetings import service as meetings
from kit.store.models import Meeting
from kit.web.campaigns import BROWSER
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict, read_json
from kit.web.limits import client_ip
from kit.web.templating import render

# The form's inputs are "flag.reason", "flag.note"…: the RSVP form on the same page has a
# note and an email too, and their ids must differ.
PREFIX = "flag."
HONEYPOT = "flag.website"


def reporter_key(request: Request) -> str:
    browser = request.session.get(BROWSER)
    return flags.reporter_key(
        request.app.state.settings.secret_key,
        browser_id=browser if isinstance(browser, str) and browser else None,
        client=client_ip(request),
    )


def _flag_page(
    request: Request,
    meeting: Meeting,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "meeting": meeting,
        "flag_values": values or {},
        "flag_errors": errors or {},
        "thanks": flags.THANKS if status_code == 200 and values is None else None,
    }
    return render(request, "pages/flag.html", context, status_code=status_code)


async def flag_form(request: Request) -> Response:
    """Report a meeting from its page; a problem comes back with the form, what was typed kept."""
    form = form_to_dict(await read_form(request))
    meeting = await meetings.get_meeting(request.path_params["id"])
    if form.get(HONEYPOT):
        errors = {HONEYPOT: "Please leave this field empty."}
        return _flag_page(request, meeting, values=form, errors=errors, status_code=422)
    try:
        data = flags.parse_flag_input({k.removeprefix(PREFIX): v for k, v in form.items()})
        await flags.limit_flags(client_ip(request))
        await flags.flag_meeting(meeting, data, reporter_key(request), site=_site(request))
    except ValidationError as exc:
        errors = {f"{PREFIX}{k}": message for k, message in exc.fields.items()}
        return _flag_page(request, meeting, values=form, errors=errors, status_code=422)
    return _flag_page(request, meeting)


async def flag_create(request: Request) -> Response:
    """
    ---
    summary: Report a meeting
    description: >-
      Tell the campaign's coordinators something is wrong with a meeting. Each person
      (this browser's session, else the client's address) counts once; a campaign may
      hide a meeting automatically after enough people reported it, until a coordinator
      looks. The answer is the same whether or not this report was counted.
    operationId: flagMeeting
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [reason]
            properties:
              reason: {enum: [spam, unsafe, wrong, other]}
              note: {type: string, maxLength: 1000}
              email: {type: string, format: email, description: "Optional, for a reply."}
    responses:
      "202":
        description: Received.
        content:
          application/json:
            schema:
              type: object
              required: [counted, message]
              properties:
                counted: {type: boolean, description: "False when this person already reported it."}
                message: {type: string}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
      "429": {$ref: "#/components/responses/Error"}
    """
    meeting = await meetings.get_meeting(request.path_params["id"])
    data = flags.parse_flag_input(await read_json(request))
    await flags.limit_flags(client_ip(request))
    counted = await flags.flag_meeting(meeting, data, reporter_key(request), site=_site(request))
    return JSONResponse(flags.flag_as_json(counted), status_code=202)


def _site(request: Request) -> Any:
    return request.app.state.settings
