"""PDFs to print: a campaign's guide, a meeting's guide and flyer (public), the host packet
(the manage token in ``?token=`` or ``Authorization: Bearer``), and the host's agenda form."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kit.core.errors import ValidationError
from kit.core.validation import flatten
from kit.meetings import service as meetings
from kit.printables import context as printing
from kit.store.models import Meeting
from kit.toolkit.printables import Rendered
from kit.web.host_page import host_page, manage_token
from kit.web.hosting import render_manage, render_refused


def pdf_response(request: Request, rendered: Rendered, *, private: bool = False) -> Response:
    """Inline PDF. Public ones revalidate with an ETag; the packet is never stored."""
    headers = {"Content-Disposition": f'inline; filename="{rendered.filename}"'}
    if private:
        headers["Cache-Control"] = "private, no-store"
    else:
        etag = '"' + hashlib.sha256(rendered.data).hexdigest()[:32] + '"'
        headers.update({"Cache-Control": "public, no-cache", "ETag": etag})
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    return Response(rendered.data, media_type=rendered.content_type, headers=headers)


async def public_meeting(request: Request) -> Meeting:
    """A public meeting; the host's link (with its token) also reaches a pending one."""
    if manage_token(request):
        return (await host_page(request)).meeting
    return await meetings.get_meeting(request.path_params["id"])


async def campaign_guide_pdf(request: Request) -> Response:
    return pdf_response(request, await printing.get_campaign_guide(request.path_params["slug"]))


async def meeting_guide_pdf(request: Request) -> Response:
    meeting = await public_meeting(request)
    return pdf_response(request, await printing.get_meeting_guide(meeting))


async def meeting_flyer_pdf(request: Request) -> Response:
    meeting = await public_meeting(request)
    rendered = await printing.get_flyer(meeting, site=request.app.state.settings)
    return pdf_response(request, rendered)


async def meeting_short_link(request: Request) -> Response:
    """``/m/{id}``, the flyer's printed link: on to the meeting page, counted as the flyer."""
    target = await printing.flyer_link_target(
        request.path_params["id"], site=request.app.state.settings
    )
    return RedirectResponse(target, status_code=303)


async def meeting_packet_pdf(request: Request) -> Response:
    page = await host_page(request)
    rendered = await printing.get_packet(page.meeting, page.token, site=request.app.state.settings)
    return pdf_response(request, rendered, private=True)


async def manage_agenda(request: Request) -> Response:
    """The host's minutes per agenda item, from the manage page."""
    page = await host_page(request)
    try:
        meeting = await printing.update_agenda(page.meeting, page.form)
    except ValidationError as exc:
        values = {**flatten(meetings.meeting_as_input(page.meeting)), **page.form}
        return await render_refused(request, page, exc, section="print", values=values)
    notice = "Your agenda is saved. The packet shows the new times."
    if overrun := printing.overrun_message(meeting):
        notice = f"{notice} {overrun}"
    return await render_manage(request, meeting, page.token, notice=notice, section="print")
