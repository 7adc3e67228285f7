"""The host's report after the meeting: the form typed from the sign-in sheet, and its
JSON twin for the API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from kit.campaigns import service as campaigns
from kit.core import urls
from kit.core.errors import Conflict, RateLimited, ValidationError
from kit.core.rendering import plural
from kit.reports import outcomes
from kit.reports import service as reports
from kit.store.models import Meeting
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict, read_json
from kit.web.host_page import host_page
from kit.web.limits import limit_reports
from kit.web.templating import render

SAVED = "Thank you! Your report is saved, and your meeting's page shows what happened."
HELD_BACK = (
    ": a report thanks at most "
    f"{reports.MAX_THANKED_WALK_INS} walk-ins and sends at most "
    f"{reports.MAX_HOST_INVITATIONS} invitations to host per meeting."
)


def held_back(n: int) -> str:
    """ "2 emails to people on it were not sent: ...", said for one or many."""
    were = "was" if n == 1 else "were"
    return f" {plural(n, 'email', 'emails')} to people on it {were} not sent{HELD_BACK}"


async def render_report_form(
    request: Request,
    meeting: Meeting,
    token: str,
    sheet: reports.ReportSheet,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    site = request.app.state.settings
    context = {
        "meeting": meeting,
        "token": token,
        "sheet": sheet,
        "values": values,
        "errors": errors or {},
        "notice": notice,
        "link": reports.report_link(meeting, token, site),
        "manage_url": urls.manage(site.base_url, meeting.public_id, token),
        "public_url": urls.meeting(site.base_url, meeting.public_id),
    }
    return render(request, "reports/form.html", context, status_code=status_code, headers=headers)


def refusal(exc: ValidationError | Conflict | RateLimited) -> dict[str, Any]:
    """How the report form shows a refused filing: beside the fields, or above the form."""
    if isinstance(exc, ValidationError):
        return {"errors": exc.fields, "status_code": 422}
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return {"errors": {"_form": exc.message}, "status_code": exc.status_code, "headers": headers}


async def report_form(request: Request) -> Response:
    """GET the form (pre-filled with the saved report); POST files or edits the report."""
    if request.method == "GET":
        page = await host_page(request)
        sheet, values = await reports.load_report_form(page.meeting)
        notice = None
        if request.query_params.get("saved"):
            held = request.query_params.get("held", "")
            notice = SAVED + (held_back(int(held)) if held.isdigit() else "")
        return await render_report_form(
            request, page.meeting, page.token, sheet, values=values, notice=notice
        )
    form = form_to_dict(await read_form(request, max_fields=reports.MAX_FORM_FIELDS))
    page = await host_page(request, form=form)
    meeting, token = page.meeting, page.token
    sheet = await reports.report_sheet(meeting, walk_ins=reports.walk_ins_posted(form))
    try:
        data = reports.parse_report_form(form, sheet)
        await limit_reports(request, meeting)
        filed = await reports.file_report(meeting, data, site=request.app.state.settings)
    except (ValidationError, Conflict, RateLimited) as exc:
        return await render_report_form(request, meeting, token, sheet, values=form, **refusal(exc))
    held = f"&held={filed.emails.held_back}" if filed.emails.held_back else ""
    return RedirectResponse(
        f"/manage/{meeting.public_id}/report?token={token}&saved=1{held}", status_code=303
    )


async def report_create(request: Request) -> Response:
    """
    ---
    summary: File or edit the report after a meeting (host only)
    description: >
      The same report as the host's form. Each attendee whose `email` is the email
      of a confirmed RSVP is that guest checked off (their name and contact come from
      the RSVP); anyone else is a walk-in and needs a `name`. `commitments` are the
      keys of the campaign's asks (without a campaign: host, volunteer, next_action,
      donate). `headcount` is everyone who came, the host included: left out, it is
      the number of attendees plus one (the host, who is on no row of the sheet); it
      can't be lower than the number of attendees.
      Filing again replaces the report (ideas keep their supporters when their text
      is unchanged). The first filing completes the meeting and thanks each attendee
      with an email (walk-ins: the first 40). Everyone who committed to `host` is
      invited by email to host their own: confirmed guests, and walk-ins with
      `invite_consent` (the host says they agreed to it); once per address, and at
      most 20 people per meeting. Nobody who unsubscribed is emailed. Valid filings
      are rate-limited per meeting (10 an hour) and per client (60 an hour).
    operationId: fileReport
    security: [{manageToken: []}]
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/ReportInput"}
    responses:
      "201":
        description: Filed for the first time; the meeting is now completed.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/FiledReport"}
      "200":
        description: An earlier report was replaced (same body as 201).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/FiledReport"}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "409":
        description: The meeting hasn't started, was cancelled, or reports have closed.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
      "429": {$ref: "#/components/responses/Error"}
    """
    meeting = (await host_page(request)).meeting
    body = await read_json(request)
    campaign = await campaigns.campaign_of(meeting)
    now = datetime.now(UTC)
    reports.check_can_report(meeting, campaign, now)  # a 409 before any 422
    data = reports.parse_report_json(body, await reports.report_sheet(meeting))
    await limit_reports(request, meeting)
    site = request.app.state.settings
    filed = await reports.file_report(meeting, data, site=site, now=now)
    achieved = await outcomes.meeting_outcomes(meeting)
    assert achieved is not None
    return JSONResponse(
        {
            "id": meeting.public_id,
            "status": str(meeting.status),
            "url": urls.meeting(site.base_url, meeting.public_id),
            "editable_until": reports.editable_until(meeting, campaign).isoformat(),
            "attendees": len(data.attendees),
            "headcount": achieved.headcount,
            "commitments": {c.key: c.count for c in achieved.commitments},
            "ideas": achieved.ideas,
            "emails": asdict(filed.emails),
        },
        status_code=201 if filed.created else 200,
    )
