"""The route table: every URL the kit answers, in one list."""

from __future__ import annotations

import xstatic.pkg.leaflet as leaflet
import xstatic.pkg.leaflet_markercluster as markercluster
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kit.core.rendering import STATIC_DIR
from kit.web import (
    calendars,
    campaigns,
    coordinators,
    dev,
    find,
    flags,
    guests,
    hosting,
    openapi,
    pages,
    printables,
    reports,
)
from kit.web.templating import STATIC_MOUNTS

ROUTES: list[BaseRoute] = [
    Route("/", pages.home, name="home"),
    Route("/healthz", pages.healthz, name="healthz"),
    Route("/about", pages.about, name="about"),
    Route("/privacy", pages.privacy, name="privacy"),
    Route("/contact", pages.contact, name="contact"),
    Route("/favicon.ico", pages.favicon, name="favicon"),
    Route("/dev/outbox", dev.outbox, name="dev_outbox"),
    Route("/host", hosting.host_form, methods=["GET", "POST"], name="host_form"),
    Route("/manage/recover", hosting.recover, methods=["GET", "POST"], name="manage_recover"),
    Route("/manage/{id}", hosting.manage, methods=["GET", "POST"], name="manage"),
    Route("/manage/{id}/guests.csv", hosting.guests_csv, name="manage_guests_csv"),
    Route("/manage/{id}/notify", hosting.manage_notify, methods=["POST"], name="manage_notify"),
    Route("/manage/{id}/message", hosting.manage_message, methods=["POST"], name="manage_message"),
    Route("/manage/{id}/invite", hosting.manage_invite, methods=["POST"], name="manage_invite"),
    Route("/manage/{id}/cancel", hosting.manage_cancel, methods=["POST"], name="manage_cancel"),
    Route("/manage/{id}/again", hosting.host_again, methods=["POST"], name="host_again"),
    Route("/manage/{id}/resend", hosting.manage_resend, methods=["POST"], name="manage_resend"),
    Route("/manage/{id}/relink", hosting.manage_relink, methods=["POST"], name="manage_relink"),
    Route(
        "/manage/{id}/guests/approve",
        hosting.manage_guest_approve,
        methods=["POST"],
        name="manage_guest_approve",
    ),
    Route(
        "/manage/{id}/guests/decline",
        hosting.manage_guest_decline,
        methods=["POST"],
        name="manage_guest_decline",
    ),
    Route(
        "/manage/{id}/guests/remove",
        hosting.manage_guest_remove,
        methods=["POST"],
        name="manage_guest_remove",
    ),
    Route(
        "/hosts/confirm/{token}",
        hosting.confirm_host,
        methods=["GET", "POST"],
        name="host_confirm",
    ),
    Route("/find", find.find, name="find"),
    Route("/meetings.ics", calendars.near_feed, name="near_feed"),
    Route("/campaigns/{slug}/meetings.ics", calendars.campaign_feed, name="campaign_feed"),
    Route("/feeds/{token}.ics", calendars.person_feed, name="person_feed"),
    Route("/meetings/{id}.ics", guests.meeting_ics, name="meeting_ics"),
    Route("/meetings/{id}/card.png", guests.meeting_card, name="meeting_card"),
    Route("/m/{id}", printables.meeting_short_link, name="meeting_short_link"),
    Route("/meetings/{id}/packet.pdf", printables.meeting_packet_pdf, name="meeting_packet_pdf"),
    Route("/meetings/{id}/flyer.pdf", printables.meeting_flyer_pdf, name="meeting_flyer_pdf"),
    Route("/meetings/{id}/guide.pdf", printables.meeting_guide_pdf, name="meeting_guide_pdf"),
    Route("/campaigns/{slug}/guide.pdf", printables.campaign_guide_pdf, name="campaign_guide_pdf"),
    Route("/campaigns/{slug}", campaigns.campaign_page, name="campaign_detail"),
    Route(
        "/ideas/confirm/{token}",
        campaigns.idea_confirm,
        methods=["GET", "POST"],
        name="idea_confirm",
    ),
    Route("/ideas/{id}/support", campaigns.idea_support, methods=["POST"], name="idea_support"),
    Route(
        "/ideas/{id}/email",
        campaigns.idea_support_email,
        methods=["POST"],
        name="idea_support_email",
    ),
    Route("/manage/{id}/report", reports.report_form, methods=["GET", "POST"], name="report_form"),
    Route("/manage/{id}/agenda", printables.manage_agenda, methods=["POST"], name="manage_agenda"),
    Route("/meetings/{id}", guests.meeting_detail, name="meeting_detail"),
    Route("/meetings/{id}/rsvp", guests.rsvp_form, methods=["POST"], name="rsvp_form"),
    Route("/meetings/{id}/thanks", guests.rsvp_thanks, name="rsvp_thanks"),
    Route("/meetings/{id}/flag", flags.flag_form, methods=["POST"], name="meeting_flag"),
    Route("/rsvp/{token}", guests.rsvp_manage, methods=["GET", "POST"], name="rsvp_manage"),
    Route("/rsvp/{token}/feed", guests.rsvp_feed_link, methods=["POST"], name="rsvp_feed_link"),
    Route(
        "/rsvp/{token}/feed/revoke",
        guests.rsvp_feed_revoke,
        methods=["POST"],
        name="rsvp_feed_revoke",
    ),
    Route("/rsvp/{token}/cancel", guests.rsvp_cancel, methods=["POST"], name="rsvp_cancel"),
    Route("/unsubscribe/{token}", guests.unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
    Route("/openapi.json", openapi.openapi, name="openapi", include_in_schema=False),
    Route("/api/campaigns", campaigns.campaigns_list, name="api_campaigns_list"),
    Route(
        "/api/campaigns/{slug}/outcomes", campaigns.campaign_outcomes, name="api_campaign_outcomes"
    ),
    Route(
        "/api/campaigns/{slug}/meetings.geojson",
        campaigns.campaign_geojson,
        name="api_campaign_geojson",
    ),
    Route("/api/meetings/{id}/report", reports.report_create, methods=["POST"], name="api_report"),
    Route("/api/meetings", find.meetings_search, methods=["GET"], name="api_meetings_search"),
    Route("/api/meetings", hosting.meetings_create, methods=["POST"], name="api_meetings"),
    Route("/api/meetings.geojson", find.meetings_geojson, name="api_meetings_geojson"),
    Route("/api/meetings/{id}", guests.meeting_detail_json, methods=["GET"], name="api_meeting"),
    Route(
        "/api/meetings/{id}", hosting.meeting_update, methods=["PATCH"], name="api_meeting_update"
    ),
    Route(
        "/api/meetings/{id}/rsvps", guests.rsvp_create, methods=["POST"], name="api_rsvps_create"
    ),
    Route("/api/meetings/{id}/flags", flags.flag_create, methods=["POST"], name="api_flags"),
    Route(
        "/api/meetings/{id}/cancel",
        hosting.meeting_cancel,
        methods=["POST"],
        name="api_meeting_cancel",
    ),
    # Coordinators: sign-in, campaigns, dashboards, approvals, exports.
    Route("/coordinators", coordinators.home, name="coordinators_home"),
    Route(
        "/coordinators/signin",
        coordinators.signin,
        methods=["GET", "POST"],
        name="coordinators_signin",
    ),
    Route(
        "/coordinators/signin/{token}",
        coordinators.signin_link,
        methods=["GET", "POST"],
        name="coordinators_signin_link",
    ),
    Route(
        "/coordinators/signout", coordinators.signout, methods=["POST"], name="coordinators_signout"
    ),
    Route(
        "/coordinators/account",
        coordinators.account,
        methods=["GET", "POST"],
        name="coordinators_account",
    ),
    Route(
        "/coordinators/campaigns/new",
        coordinators.campaign_new,
        methods=["GET", "POST"],
        name="coordinators_campaign_new",
    ),
    Route(
        "/coordinators/campaigns/{slug}",
        coordinators.campaign_dashboard,
        name="coordinators_dashboard",
    ),
    Route(
        "/coordinators/campaigns/{slug}/edit",
        coordinators.campaign_edit,
        methods=["GET", "POST"],
        name="coordinators_campaign_edit",
    ),
    Route(
        "/coordinators/campaigns/{slug}/approvals",
        coordinators.approvals,
        name="coordinators_approvals",
    ),
    Route(
        "/coordinators/campaigns/{slug}/export/{kind}.csv",
        coordinators.export_csv,
        name="coordinators_export",
    ),
    Route(
        "/coordinators/campaigns/{slug}/audit", coordinators.audit_log, name="coordinators_audit"
    ),
    Route("/coordinators/audit", coordinators.audit_log_all, name="coordinators_audit_all"),
    Route(
        "/coordinators/team", coordinators.team, methods=["GET", "POST"], name="coordinators_team"
    ),
    Route(
        "/coordinators/team/{id}",
        coordinators.team_member,
        methods=["POST"],
        name="coordinators_team_member",
    ),
    Route(
        "/coordinators/team/{id}/remove",
        coordinators.team_member_remove,
        methods=["POST"],
        name="coordinators_team_remove",
    ),
    Route("/coordinators/meetings/{id}", coordinators.meeting_detail, name="coordinators_meeting"),
    Route(
        "/coordinators/meetings/{id}/approve",
        coordinators.meeting_approve,
        methods=["POST"],
        name="coordinators_meeting_approve",
    ),
    Route(
        "/coordinators/meetings/{id}/hide",
        coordinators.meeting_hide,
        methods=["POST"],
        name="coordinators_meeting_hide",
    ),
    Route(
        "/coordinators/meetings/{id}/unhide",
        coordinators.meeting_unhide,
        methods=["POST"],
        name="coordinators_meeting_unhide",
    ),
    Route(
        "/coordinators/meetings/{id}/decline",
        coordinators.meeting_decline,
        methods=["POST"],
        name="coordinators_meeting_decline",
    ),
    Route(
        "/coordinators/meetings/{id}/contact",
        coordinators.meeting_contact,
        methods=["POST"],
        name="coordinators_meeting_contact",
    ),
    Route(
        "/coordinators/meetings/{id}/trust",
        coordinators.meeting_trust,
        methods=["POST"],
        name="coordinators_meeting_trust",
    ),
    Route(
        "/coordinators/meetings/{id}/untrust",
        coordinators.meeting_untrust,
        methods=["POST"],
        name="coordinators_meeting_untrust",
    ),
    Route("/coordinators/flags", coordinators.flags_queue, name="coordinators_flags"),
    Route(
        "/coordinators/meetings/{id}/flags/resolve",
        coordinators.flags_resolve,
        methods=["POST"],
        name="coordinators_flags_resolve",
    ),
    Route(
        "/coordinators/ideas/{id}/status",
        coordinators.idea_status,
        methods=["POST"],
        name="coordinators_idea_status",
    ),
    Route(
        "/api/coordinators/campaigns/{slug}/dashboard",
        coordinators.api_dashboard,
        name="api_coordinator_dashboard",
    ),
    # Pages link here with asset_url() (kit/web/templating.py), never from the Host header.
    Mount(STATIC_MOUNTS["leaflet"], StaticFiles(directory=leaflet.BASE_DIR), name="leaflet"),
    Mount(
        STATIC_MOUNTS["markercluster"],
        StaticFiles(directory=markercluster.BASE_DIR),
        name="markercluster",
    ),
    Mount(STATIC_MOUNTS["static"], StaticFiles(directory=STATIC_DIR), name="static"),
]
