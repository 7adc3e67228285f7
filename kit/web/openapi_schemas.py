"""Reusable OpenAPI components referenced from the handlers' docstrings."""

from __future__ import annotations

from typing import Any

from kit.reports.service import MAX_HOST_INVITATIONS, MAX_THANKED_WALK_INS

_str = {"type": "string"}
_nullable_str = {"type": ["string", "null"]}
# Which of a local time the clocks show twice (the hour a fall-back repeats): the first
# (still on daylight-saving time) or the second. Needed only then; a 422 asks for it.
_FOLD = {
    "enum": ["first", "second", ""],
    "description": "for a local time that happens twice when the clocks go back: "
    "the first or the second one; ignored otherwise",
}

LOCATION: dict[str, Any] = {
    "type": "object",
    "required": ["lat", "lon", "approximate", "locality", "country"],
    "properties": {
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "approximate": {
            "type": "boolean",
            "description": "true for homes: a point 0.5–1.5 km from the house",
        },
        "venue": {**_str, "description": "name of the public place; only for public places"},
        "street": {**_str, "description": "only for public places"},
        "locality": _str,
        "region": _str,
        "postal_code": _str,
        "country": _str,
    },
}

PUBLIC_MEETING: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "title",
        "starts_at",
        "ends_at",
        "timezone",
        "location",
        "seats_left",
        "url",
    ],
    "properties": {
        "id": _str,
        "title": _str,
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "timezone": {**_str, "description": "IANA zone of the meeting's place"},
        "status": {"enum": ["published", "cancelled", "completed"]},
        "kind": {"enum": ["home", "public"]},
        "location": {"$ref": "#/components/schemas/Location"},
        "capacity": {"type": "integer"},
        "seats_left": {"type": "integer"},
        "campaign": _nullable_str,
        "url": {"type": "string", "format": "uri"},
        "distance_km": {"type": "number"},
        "description": _str,
        "host_first_name": _str,
        "host_note": _str,
        "rsvp_goal": {"type": ["integer", "null"]},
    },
}

MEETING_CHANGES: dict[str, Any] = {
    "type": "object",
    "description": "Only the fields to change; nested objects are merged.",
    "properties": {
        "title": {"type": "string", "maxLength": 140},
        "description": {"type": "string", "maxLength": 5000},
        "starts_at": {
            **_str,
            "description": "local time at the place (2026-12-05T18:30), from now to two "
            "years ahead; an explicit offset is honored. A local time the clocks skip "
            "(spring forward) is refused with the two valid times; one they show twice "
            "(fall back) needs starts_at_fold",
        },
        "starts_at_fold": _FOLD,
        "ends_at": {**_str, "description": "like starts_at; at most 12 hours after it"},
        "ends_at_fold": _FOLD,
        "address": {
            "type": "object",
            "properties": {
                "street": _str,
                "locality": _str,
                "postal_code": _str,
                "region": {
                    **_str,
                    "maxLength": 120,
                    "description": "state or province (“OR”, “Oregon”); needed when a town "
                    "name alone matches several towns (a 422 lists them)",
                },
                "country": {
                    **_str,
                    "description": "ISO 3166-1 alpha-2; default the campaign's country, else US",
                },
                "directions": _str,
                "venue": {
                    **_str,
                    "maxLength": 120,
                    "description": "name of a public place (“Harlem Library”), shown with "
                    "its address; ignored for homes",
                },
            },
        },
        "kind": {"enum": ["home", "public"]},
        "capacity": {"type": "integer", "minimum": 1, "maximum": 500},
        "visibility": {"enum": ["public", "unlisted"]},
        "campaign": {**_str, "description": "campaign slug"},
        "rsvp_goal": {"type": ["integer", "null"], "minimum": 1, "maximum": 500},
        "host_note": _str,
        "reply_to_host": {"type": "boolean"},
        "waitlist": {
            "type": "boolean",
            "default": True,
            "description": "when full, keep a waitlist instead of closing RSVPs",
        },
        "approve_guests": {
            "type": "boolean",
            "default": False,
            "description": "the host approves each guest before the exact address goes out",
        },
        "grew_from": {
            **_str,
            "description": "public id of the meeting whose host invited this one's",
        },
        "host": {"type": "object", "properties": {"name": _str, "email": _str, "phone": _str}},
    },
}

# A new meeting needs a title, its times, a town or postal code and the host's contact.
MEETING_INPUT: dict[str, Any] = {
    **MEETING_CHANGES,
    "description": "Either address.locality or address.postal_code is needed.",
    "required": ["title", "starts_at", "ends_at", "address", "host"],
    "properties": {
        **MEETING_CHANGES["properties"],
        "title": {**MEETING_CHANGES["properties"]["title"], "minLength": 1},
        "host": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {"name": {**_str, "minLength": 1}, "email": _str, "phone": _str},
        },
    },
}

# The host's report after a meeting (POST /api/meetings/{id}/report).
REPORT_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "attendees": {
            "type": "array",
            "maxItems": 300,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 120, "description": "for walk-ins"},
                    "email": {
                        **_str,
                        "description": "a confirmed guest's email checks them off",
                    },
                    "phone": _str,
                    "commitments": {"type": "array", "items": _str},
                    "consent": {"type": "boolean", "description": "may the campaign contact them"},
                    "invite_consent": {
                        "type": "boolean",
                        "default": False,
                        "description": "a walk-in who committed to host agreed to be emailed "
                        "an invitation to host; without it they get none",
                    },
                },
            },
        },
        "headcount": {
            "type": "integer",
            "minimum": 0,
            "maximum": 1000,
            "description": "everyone who came, the host included; default: attendees + 1",
        },
        "ideas": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 300}},
        "story": {"type": "string", "maxLength": 5000},
        "story_consent": {"type": "boolean", "description": "the teller agreed to share it"},
        "guide_rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "feedback": {"type": "string", "maxLength": 5000},
    },
}

FILED_REPORT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "url", "editable_until", "headcount", "commitments", "ideas"],
    "properties": {
        "id": _str,
        "status": {"enum": ["completed"]},
        "url": {"type": "string", "format": "uri"},
        "editable_until": {"type": "string", "format": "date-time"},
        "attendees": {"type": "integer"},
        "headcount": {"type": "integer"},
        "commitments": {
            "type": "object",
            "description": "count per ask key",
            "additionalProperties": {"type": "integer"},
        },
        "ideas": {"type": "array", "items": _str},
        "emails": {
            "type": "object",
            "description": "what this filing queued; held_back counts emails over the caps "
            f"({MAX_THANKED_WALK_INS} walk-ins thanked, {MAX_HOST_INVITATIONS} invitations "
            "to host per meeting)",
            "required": ["thank_yous", "host_invitations", "held_back"],
            "properties": {
                "thank_yous": {"type": "integer"},
                "host_invitations": {"type": "integer"},
                "held_back": {"type": "integer"},
            },
        },
    },
}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error", "fields"],
            "properties": {
                "error": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "Campaign": {
            "type": "object",
            "required": ["slug", "name"],
            "properties": {
                "slug": _str,
                "name": _str,
                "description": _str,
                "starts_on": {"type": ["string", "null"], "format": "date"},
                "ends_on": {"type": ["string", "null"], "format": "date"},
                "goals": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
        "Location": LOCATION,
        "PublicMeeting": PUBLIC_MEETING,
        "MeetingInput": MEETING_INPUT,
        "MeetingChanges": MEETING_CHANGES,
        "ReportInput": REPORT_INPUT,
        "FiledReport": FILED_REPORT,
        "RsvpInput": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": _str,
                "email": _str,
                "phone": _str,
                "guests": {"type": "integer", "minimum": 0, "maximum": 5},
                "note": {**_str, "description": "a note to the host"},
                "consent": {"type": "boolean", "description": "may the campaign contact me"},
                "ref": {**_str, "description": "the host's referral code, from a share link"},
                "source": {
                    "enum": ["direct", "search", "share", "invitation", "campaign", "flyer"]
                },
            },
        },
        "RsvpAccepted": {
            "type": "object",
            "required": ["status", "email", "message"],
            "description": "The same whether the address was known or not. The link to the "
            "RSVP, and the exact address once confirmed, go to that mailbox only.",
            "properties": {
                "status": {
                    "enum": ["confirmed", "waitlisted", "requested"],
                    "description": "what a new RSVP of this size gets now (requested: the "
                    "host approves each guest)",
                },
                "email": _str,
                "message": _str,
            },
        },
        "MeetingCreated": {
            "type": "object",
            "required": ["id", "url", "manage_url", "status"],
            "properties": {
                "id": _str,
                "url": _str,
                "manage_url": {
                    **_str,
                    "description": "the host's private key to the meeting; keep it secret",
                },
                "status": {
                    "enum": ["awaiting", "published", "pending"],
                    "description": "awaiting: the host must confirm the link emailed to "
                    "them before the meeting is public",
                },
                "message": _str,
            },
        },
    },
    "responses": {
        "Error": {
            "description": "A problem a person can act on.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    },
    "securitySchemes": {
        "manageToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "The secret token from the host's manage link.",
        },
        "coordinatorToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "A coordinator's API token, created on /coordinators/account.",
        },
    },
}
