"""Coordinators' pages: sign in, campaigns, the dashboard, approvals, meetings, exports,
the account, and the dashboard as JSON for an API token.

Every page but sign-in needs ``request.session["coordinator"]`` (a signed cookie) and
the account's current session epoch beside it; a visitor without them is sent to sign
in (303) and comes back afterwards. Signing out ends every session of the account, on
every device; changing the password ends every other one (this one is issued again).
Every form post goes through ``read_form`` (CSRF). Authorization is decided in
the ``kit.coordinators`` package.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from kit.campaigns import input as campaign_input
from kit.coordinators import (
    access,
    accounts,
    api_tokens,
    audit,
    campaigns,
    dashboard,
    exports,
    moderation,
)
from kit.coordinators import flags as flag_use_cases
from kit.coordinators import (
    signin as signin_use_cases,
)
from kit.coordinators import (
    team as team_use_cases,
)
from kit.coordinators.access import Can
from kit.coordinators.charts import render_bar_chart, render_column_chart
from kit.core.errors import NotFound, PermissionDenied, ValidationError
from kit.reports.outcomes import FIGURE_MEANS
from kit.store.models import Coordinator, Idea, IdeaStatus, Meeting, MeetingStatus
from kit.toolkit.markdown import markdown_to_html
from kit.web.csrf import read_form
from kit.web.forms import bearer_token, form_to_dict
from kit.web.limits import client_ip
from kit.web.templating import render as page

SESSION_KEY = "coordinator"
SESSION_EPOCH = "coordinator_epoch"  # the account's session_epoch when this session began
SESSION_SINCE = "coordinator_since"
SESSION_MAX_AGE = 7 * 24 * 3600  # then sign in again (the cookie itself lives 30 days)
PRIVATE = {"Cache-Control": "private, no-store"}

Page = Callable[[Request, Coordinator], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    context.setdefault("notice", request.session.pop("notice", None))
    if isinstance(context.get("coordinator"), Coordinator):  # pages show only what the role may do
        context.setdefault("can", {c.value for c in access.abilities(context["coordinator"])})
    return page(request, template, context, status_code, headers=PRIVATE)


def redirect(url: str, notice: str | None = None, request: Request | None = None) -> Response:
    if notice and request is not None:
        request.session["notice"] = notice
    return RedirectResponse(url, status_code=303)


async def current_coordinator(request: Request) -> Coordinator | None:
    since = request.session.get(SESSION_SINCE)
    if not isinstance(since, int) or time.time() - since > SESSION_MAX_AGE:
        return None
    return await accounts.find_coordinator(
        request.session.get(SESSION_KEY), request.session.get(SESSION_EPOCH)
    )


def coordinator_page(handler: Page) -> Endpoint:
    """Run ``handler(request, coordinator)``, or send a signed-out visitor to sign in."""

    @functools.wraps(handler)
    async def page(request: Request) -> Response:
        coordinator = await current_coordinator(request)
        if coordinator is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target = here if request.method == "GET" else "/coordinators"
            return RedirectResponse(f"/coordinators/signin?next={quote(target)}", 303)
        return await handler(request, coordinator)

    return page


def start_session(request: Request, coordinator: Coordinator) -> None:
    """A fresh session (and a fresh CSRF token) for the account, at its current epoch."""
    request.session.clear()
    request.session[SESSION_KEY] = coordinator.id
    request.session[SESSION_EPOCH] = coordinator.session_epoch
    request.session[SESSION_SINCE] = int(time.time())


def sign_in(request: Request, coordinator: Coordinator, next_path: str | None) -> Response:
    start_session(request, coordinator)
    return RedirectResponse(signin_use_cases.safe_next(next_path), status_code=303)


# --- Signing in and out -------------------------------------------------------------------


async def signin(request: Request) -> Response:
    """An email link (the answer never says whether the address is a coordinator's), or a
    password for those who set one."""
    next_path = request.query_params.get("next", "")
    context: dict[str, Any] = {"email": "", "errors": {}, "sent": False, "next": next_path}
    if request.method == "GET":
        if await current_coordinator(request):
            return RedirectResponse(signin_use_cases.safe_next(next_path), status_code=303)
        return render(request, "coordinators/signin.html", context)
    form = form_to_dict(await read_form(request))
    context.update(email=form.get("email", ""), next=form.get("next", ""))
    try:
        if form.get("method") == "password":
            coordinator = await signin_use_cases.sign_in_with_password(
                form.get("email", ""), form.get("password", ""), ip=client_ip(request)
            )
            return sign_in(request, coordinator, form.get("next"))
        await signin_use_cases.send_signin_link(
            form.get("email", ""),
            ip=client_ip(request),
            site=request.app.state.settings,
            next_path=form.get("next", ""),
        )
    except ValidationError as exc:
        context["errors"] = exc.fields
        return render(request, "coordinators/signin.html", context, status_code=422)
    context["sent"] = True
    return render(request, "coordinators/signin.html", context)


async def signin_link(request: Request) -> Response:
    """GET shows a button (mail scanners that open links don't use them up); POST signs in."""
    token = request.path_params["token"]
    next_path = request.query_params.get("next", "")
    try:
        if request.method == "GET":
            coordinator = await signin_use_cases.check_signin_token(token)
            context = {"coordinator": coordinator, "token": token, "next": next_path}
            return render(request, "coordinators/signin_link.html", context)
        form = form_to_dict(await read_form(request))
        coordinator = await signin_use_cases.consume_signin_token(token)
    except signin_use_cases.SigninLinkInvalid as exc:
        context = {"email": "", "errors": {"_link": exc.message}, "sent": False, "next": next_path}
        return render(request, "coordinators/signin.html", context, status_code=404)
    return sign_in(request, coordinator, form.get("next"))


async def signout(request: Request) -> Response:
    """Ends every session of the account, not only this browser's: a copied cookie, or a
    device left signed in somewhere, stops working too."""
    await read_form(request)
    coordinator = await current_coordinator(request)
    if coordinator is not None:  # a session already ended has nothing left to end
        await accounts.end_sessions(coordinator)
    request.session.clear()
    notice = "You are signed out everywhere: on this device and on every other one."
    return redirect("/coordinators/signin", notice, request)


# --- Campaigns ----------------------------------------------------------------------------


@coordinator_page
async def home(request: Request, coordinator: Coordinator) -> Response:
    campaigns = await accounts.list_visible_campaigns(coordinator)
    pending = {
        c.id: await Meeting.filter(campaign_id=c.id, status=MeetingStatus.PENDING).count()
        for c in campaigns
    }
    context = {"coordinator": coordinator, "campaigns": campaigns, "pending": pending}
    return render(request, "coordinators/home.html", context)


def _campaign_form(
    request: Request,
    coordinator: Coordinator,
    values: dict[str, Any],
    errors: dict[str, str],
    campaign: Any = None,
    status_code: int = 200,
) -> Response:
    guide = campaign.guide_markdown if campaign else ""
    context = {
        "coordinator": coordinator,
        "values": values,
        "errors": errors,
        "campaign": campaign,
        "guide_html": Markup(markdown_to_html(guide)) if guide else "",
    }
    return render(request, "coordinators/campaign_form.html", context, status_code)


@coordinator_page
async def campaign_new(request: Request, coordinator: Coordinator) -> Response:
    if not coordinator.is_admin:
        raise PermissionDenied("Only admins start new campaigns.")
    if request.method == "GET":
        return _campaign_form(request, coordinator, {"is_public": "1"}, {})
    form = form_to_dict(await read_form(request))
    try:
        campaign = await campaigns.create_campaign(
            coordinator, campaign_input.parse_campaign_input(form)
        )
    except ValidationError as exc:
        return _campaign_form(request, coordinator, form, exc.fields, status_code=422)
    return redirect(f"/coordinators/campaigns/{campaign.slug}", "Campaign created.", request)


@coordinator_page
async def campaign_edit(request: Request, coordinator: Coordinator) -> Response:
    campaign = await access.require_campaign(
        coordinator, request.path_params["slug"], need=Can.COORDINATE
    )
    if request.method == "GET":
        values = campaign_input.campaign_form_values(campaign)
        return _campaign_form(request, coordinator, values, {}, campaign)
    form = {**form_to_dict(await read_form(request)), "slug": campaign.slug}
    try:
        data = campaign_input.parse_campaign_input(form)
        await campaigns.update_campaign(coordinator, campaign, data)
    except ValidationError as exc:
        return _campaign_form(request, coordinator, form, exc.fields, campaign, 422)
    return redirect(f"/coordinators/campaigns/{campaign.slug}", "Campaign saved.", request)


def dashboard_charts(d: dashboard.Dashboard) -> dict[str, Any]:
    return {
        "funnel": render_bar_chart(
            "chart-funnel",
            "Funnel",
            "From meetings planned to new hosts; the table below has the same figures.",
            d.funnel.steps(),
        ),
        "regions": render_bar_chart(
            "chart-regions",
            "Meetings by region",
            "Planned meetings in the ten regions with the most.",
            [(r.label, r.counts.meetings) for r in d.regions[:10]],
        ),
        "weeks": render_column_chart(
            "chart-weeks",
            "Meetings by week",
            "Planned meetings by the ISO week they start in, oldest first.",
            [(w.label, w.counts.meetings) for w in d.weeks],
        ),
        "growth": render_bar_chart(
            "chart-growth",
            "Meetings by generation",
            "Generation 0 started on their own; 1 grew from one of those, and so on.",
            [(f"Generation {g}", n) for g, n in d.growth.by_generation],
        ),
    }


@coordinator_page
async def campaign_dashboard(request: Request, coordinator: Coordinator) -> Response:
    campaign = await access.require_campaign(
        coordinator, request.path_params["slug"], need=Can.VIEW
    )
    d = await dashboard.campaign_dashboard(campaign)
    ideas = await Idea.filter(campaign_id=campaign.id).order_by("-supporters", "-id").limit(20)
    context = {
        "coordinator": coordinator,
        "campaign": campaign,
        "d": d,
        "charts": dashboard_charts(d),
        "means": FIGURE_MEANS,
        "ideas": ideas,
        "idea_statuses": idea_statuses(),
        "exports": list(exports.EXPORTS),
        "open_exports": exports.WITHOUT_CONTACTS,
    }
    return render(request, "coordinators/dashboard.html", context)


@coordinator_page
async def approvals(request: Request, coordinator: Coordinator) -> Response:
    campaign = await access.require_campaign(
        coordinator, request.path_params["slug"], need=Can.MODERATE
    )
    pending = await moderation.list_pending_meetings(campaign)
    context = {"coordinator": coordinator, "campaign": campaign, "pending": pending}
    return render(request, "coordinators/approvals.html", context)


# --- Meetings -------------------------------------------------------------------------------


async def _meeting_page(
    request: Request,
    coordinator: Coordinator,
    meeting: Meeting,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "coordinator": coordinator,
        "meeting": meeting,
        "campaign": meeting.campaign,
        "values": values or {},
        "errors": errors or {},
        "trusted_means": moderation.TRUSTED_MEANS,
    }
    return render(request, "coordinators/meeting.html", context, status_code)


@coordinator_page
async def meeting_detail(request: Request, coordinator: Coordinator) -> Response:
    meeting = await access.require_meeting(
        coordinator, request.path_params["id"], need=Can.MODERATE
    )
    return await _meeting_page(request, coordinator, meeting)


@coordinator_page
async def meeting_approve(request: Request, coordinator: Coordinator) -> Response:
    form = form_to_dict(await read_form(request))
    meeting = await moderation.approve(
        coordinator, request.path_params["id"], site=request.app.state.settings
    )
    back = signin_use_cases.safe_next(form.get("back"))
    return redirect(back, f"“{meeting.title}” is live. The host is being told.", request)


def _meeting_action(action: Callable[..., Awaitable[object]], notice: str) -> Endpoint:
    """The endpoint of one moderation form (hide, unhide, decline, write to the host): a
    problem shows on the meeting's page, with what was typed."""

    @coordinator_page
    async def endpoint(request: Request, coordinator: Coordinator) -> Response:
        form = form_to_dict(await read_form(request))
        public_id = request.path_params["id"]
        try:
            await action(coordinator, public_id, form, site=request.app.state.settings)
        except ValidationError as exc:
            meeting = await access.require_meeting(coordinator, public_id, need=Can.MODERATE)
            return await _meeting_page(
                request, coordinator, meeting, values=form, errors=exc.fields, status_code=422
            )
        back = form.get("back") and signin_use_cases.safe_next(form.get("back"))
        return redirect(back or f"/coordinators/meetings/{public_id}", notice, request)

    return endpoint


meeting_hide = _meeting_action(
    moderation.hide_meeting, "The meeting is hidden. The host is being told why."
)
meeting_unhide = _meeting_action(
    moderation.unhide_meeting, "The meeting is back on the site. The host is told."
)
meeting_decline = _meeting_action(
    moderation.decline_meeting, "The meeting is declined. The host is told why."
)
meeting_contact = _meeting_action(
    moderation.contact_host, "Your message is on its way to the host."
)


async def _set_trust(request: Request, coordinator: Coordinator, *, trusted: bool) -> Response:
    await read_form(request)
    meeting = await moderation.set_host_trust(
        coordinator, request.path_params["id"], trusted=trusted
    )
    name = meeting.host.name
    notice = (
        f"{name} is now a trusted host: {moderation.TRUSTED_MEANS}."
        if trusted
        else f"{name} is no longer trusted: {moderation.UNTRUSTED_MEANS}."
    )
    return redirect(f"/coordinators/meetings/{meeting.public_id}", notice, request)


@coordinator_page
async def meeting_trust(request: Request, coordinator: Coordinator) -> Response:
    """Trust the meeting's host."""
    return await _set_trust(request, coordinator, trusted=True)


@coordinator_page
async def meeting_untrust(request: Request, coordinator: Coordinator) -> Response:
    """Stop trusting the meeting's host."""
    return await _set_trust(request, coordinator, trusted=False)


def idea_statuses() -> list[tuple[str, str]]:
    return [(s.value, s.value.replace("_", " ").capitalize()) for s in IdeaStatus]


@coordinator_page
async def idea_status(request: Request, coordinator: Coordinator) -> Response:
    """Change an idea's status from the dashboard; a refused change comes back on a page of
    its own, with the problem beside the field and the typed note kept."""
    form = form_to_dict(await read_form(request))
    public_id = request.path_params["id"]
    back = signin_use_cases.safe_next(form.get("back"))
    try:
        idea = await moderation.update_idea_status(coordinator, public_id, form)
    except ValidationError as exc:
        context = {
            "coordinator": coordinator,
            "idea": await access.require_idea(coordinator, public_id),
            "values": form,
            "errors": exc.fields,
            "idea_statuses": idea_statuses(),
            "back": back,
        }
        return render(request, "coordinators/idea_status.html", context, 422)
    return redirect(back, f"The idea is now “{IdeaStatus(idea.status).value}”.", request)


# --- Exports ---------------------------------------------------------------------------------


@coordinator_page
async def export_csv(request: Request, coordinator: Coordinator) -> Response:
    kind = request.path_params["kind"]
    campaign = await campaigns.open_export(coordinator, request.path_params["slug"], kind)
    filename = f"{campaign.slug}-{kind}.csv"
    return StreamingResponse(
        exports.export_csv(kind, campaign.id),
        media_type="text/csv; charset=utf-8",
        headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- The team ---------------------------------------------------------------------------------


async def _team_page(
    request: Request,
    coordinator: Coordinator,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    campaigns = await accounts.list_visible_campaigns(coordinator)
    context = {
        "coordinator": coordinator,
        "members": await team_use_cases.list_team(coordinator),
        "campaigns": campaigns,
        "campaign_options": [("", "Choose a campaign")] + [(c.slug, c.name) for c in campaigns],
        "roles": access.ROLE_LABELS,
        "role_options": [(r.value, label) for r, label in access.ROLE_LABELS.items()],
        "values": values or {"role": "coordinator"},
        "errors": errors or {},
    }
    return render(request, "coordinators/team.html", context, status_code)


@coordinator_page
async def team(request: Request, coordinator: Coordinator) -> Response:
    """Who coordinates with you; invite someone by email (POST)."""
    if request.method == "GET":
        return await _team_page(request, coordinator)
    form = form_to_dict(await read_form(request))
    try:
        invited = await team_use_cases.invite_coordinator(
            coordinator, form, site=request.app.state.settings
        )
    except ValidationError as exc:
        return await _team_page(
            request, coordinator, values=form, errors=exc.fields, status_code=422
        )
    notice = f"{invited.email} is invited: a sign-in link is on its way to them."
    return redirect("/coordinators/team", notice, request)


@coordinator_page
async def team_member(request: Request, coordinator: Coordinator) -> Response:
    """Change a member's role and campaigns."""
    form = await read_form(request)
    raw = {"role": form.get("role"), "campaigns": form.getlist("campaigns")}
    try:
        changed = await team_use_cases.change_access(coordinator, request.path_params["id"], raw)
    except ValidationError as exc:
        return await _team_page(request, coordinator, errors=exc.fields, status_code=422)
    return redirect(
        "/coordinators/team", f"Saved: {changed.email} is now a {changed.role}.", request
    )


@coordinator_page
async def team_member_remove(request: Request, coordinator: Coordinator) -> Response:
    """Remove a member from the team (or from one campaign of theirs)."""
    form = await read_form(request)
    try:
        gone = await team_use_cases.remove_from_team(
            coordinator, request.path_params["id"], str(form.get("campaign") or "")
        )
    except ValidationError as exc:
        return await _team_page(request, coordinator, errors=exc.fields, status_code=422)
    return redirect(
        "/coordinators/team", f"{gone.email} is removed; their sessions have ended.", request
    )


# --- The audit log -------------------------------------------------------------------------


async def _audit_page(request: Request, coordinator: Coordinator, slug: str | None) -> Response:
    campaign, entries = await audit.read_audit(coordinator, slug, request.query_params.get("page"))
    context = {"coordinator": coordinator, "campaign": campaign, "entries": entries}
    return render(request, "coordinators/audit.html", context)


@coordinator_page
async def audit_log(request: Request, coordinator: Coordinator) -> Response:
    """A campaign's audit log."""
    return await _audit_page(request, coordinator, request.path_params["slug"])


@coordinator_page
async def audit_log_all(request: Request, coordinator: Coordinator) -> Response:
    """Every campaign's audit log (admins)."""
    return await _audit_page(request, coordinator, None)


# --- The account ------------------------------------------------------------------------------

PASSWORD_SET = "Your password is set. Every other device signed in to your account is signed out."
PASSWORD_REMOVED = "Password removed: use email links. Every other device is signed out."


async def _account_page(
    request: Request,
    coordinator: Coordinator,
    *,
    new_token: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "coordinator": coordinator,
        "campaigns": await accounts.list_visible_campaigns(coordinator),
        "tokens": await api_tokens.list_api_tokens(coordinator),
        "new_token": new_token,
        "errors": errors or {},
    }
    return render(request, "coordinators/account.html", context, status_code)


@coordinator_page
async def account(request: Request, coordinator: Coordinator) -> Response:
    """Set or remove a password; create an API token (shown once) or revoke one."""
    if request.method == "GET":
        return await _account_page(request, coordinator)
    form = form_to_dict(await read_form(request))
    action = form.get("action", "")
    try:
        if action == "set_password":
            await signin_use_cases.set_password(coordinator, form)
            start_session(request, coordinator)  # this device stays signed in; others don't
            return redirect("/coordinators/account", PASSWORD_SET, request)
        if action == "remove_password":
            await signin_use_cases.remove_password(coordinator)
            start_session(request, coordinator)
            return redirect("/coordinators/account", PASSWORD_REMOVED, request)
        if action == "create_token":
            token = await api_tokens.create_api_token(coordinator)
            return await _account_page(request, coordinator, new_token=token)
        if action == "revoke_token":
            await api_tokens.revoke_api_token(coordinator, form.get("token_id"))
            return redirect("/coordinators/account", "The API token is revoked.", request)
    except ValidationError as exc:
        return await _account_page(request, coordinator, errors=exc.fields, status_code=422)
    raise NotFound("That action isn't available here.")


# --- JSON ---------------------------------------------------------------------------------------


async def api_dashboard(request: Request) -> Response:
    """
    ---
    summary: A campaign's dashboard figures (coordinators only)
    operationId: getCampaignDashboard
    security: [{coordinatorToken: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: >-
          Aggregates only (no names, emails or addresses): totals, the funnel, regions with
          their towns, ISO weeks, the growth tree and the meetings past due for a report.
        content:
          application/json:
            schema:
              type: object
              required: [campaign, totals, funnel, regions, weeks, growth, past_due_reports]
              properties:
                campaign: {type: object}
                totals: {type: object, additionalProperties: {type: integer}}
                progress:
                  type: object
                  description: >-
                    The goal figures exactly as the public campaign page gives them
                    (meetings held, people reached, commitments), with what each counts.
                funnel:
                  type: object
                  properties:
                    planned: {type: integer}
                    held: {type: integer}
                    reported: {type: integer}
                    rsvps: {type: integer}
                    attended: {type: integer}
                    committed: {type: integer}
                    new_hosts: {type: integer}
                commitments: {type: array, items: {type: object}}
                regions: {type: array, items: {type: object}}
                weeks: {type: array, items: {type: object}}
                growth: {type: object}
                past_due_reports: {type: object}
      "401": {$ref: "#/components/responses/Error"}
      "403": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
    """
    try:
        coordinator = await api_tokens.coordinator_for_api_token(bearer_token(request))
    except api_tokens.NotSignedIn as exc:
        return JSONResponse(
            {"error": exc.message, "fields": {}},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="coordinators"'},
        )
    campaign = await access.require_campaign(
        coordinator, request.path_params["slug"], need=Can.VIEW
    )
    body = dashboard.dashboard_to_json(await dashboard.campaign_dashboard(campaign))
    return JSONResponse(body, headers=PRIVATE)


# --- Reported meetings (flags) -------------------------------------------------------------


@coordinator_page
async def flags_queue(request: Request, coordinator: Coordinator) -> Response:
    """Meetings people reported, of the campaigns this coordinator sees, newest first.

    Reports carry notes and reply addresses: moderators and up only, like a meeting's page.
    """
    if not coordinator.is_admin and Can.MODERATE not in access.abilities(coordinator):
        raise PermissionDenied(access.REFUSED[Can.MODERATE])
    flagged = await flag_use_cases.list_flagged_meetings(await accounts.campaign_ids(coordinator))
    context = {
        "coordinator": coordinator,
        "flagged": flagged,
        "reasons": flag_use_cases.REASON_LABELS,
    }
    return render(request, "coordinators/flags.html", context)


@coordinator_page
async def flags_resolve(request: Request, coordinator: Coordinator) -> Response:
    """Mark a meeting's reports as looked at; hiding or showing it stays its own action."""
    await read_form(request)
    meeting = await access.require_meeting(
        coordinator, request.path_params["id"], need=Can.MODERATE
    )
    resolved = await flag_use_cases.resolve_flags(meeting)
    reports = "1 report" if resolved == 1 else f"{resolved} reports"
    notice = f"{reports} on “{meeting.title}” marked as resolved."
    return redirect("/coordinators/flags", notice, request)
