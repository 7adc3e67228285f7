"""Use cases for campaigns."""

from __future__ import annotations

from kit.campaigns.guides import DEFAULT_ASKS
from kit.core.errors import CampaignNotFound
from kit.store.models import Campaign, Meeting
from kit.store.sql import Prepared

SLUG_LENGTH = 64
# Asks a meeting shows: the sign-in sheet's tick columns, the commitment cards and the
# report form all use these six, so what was ticked on paper can be typed in. The campaign
# form refuses more (kit.campaigns.input); asks_for still cuts a longer list stored before.
MAX_ASKS_SHOWN = 6


# Read by every /find page (its campaign filter): the SQL built once.
PUBLIC_CAMPAIGNS = Prepared(
    Campaign, lambda: Campaign.filter(is_public=True).order_by("-starts_on", "name")
)


async def list_campaigns() -> list[Campaign]:
    """Public campaigns, newest window first."""
    return await PUBLIC_CAMPAIGNS.all()


def campaign_summary(campaign: Campaign) -> dict[str, object]:
    """The public face of a campaign, as the API shows it."""
    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "description": campaign.description,
        "starts_on": campaign.starts_on.isoformat() if campaign.starts_on else None,
        "ends_on": campaign.ends_on.isoformat() if campaign.ends_on else None,
        "goals": campaign.goals,
    }


async def get_public_campaign(slug: str) -> Campaign:
    campaign = await Campaign.get_or_none(slug=slug[:64], is_public=True)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


def asks_for(campaign: Campaign | None) -> list[dict[str, str]]:
    """The campaign's asks ({"key", "label"}; at most ``MAX_ASKS_SHOWN``), or the kit's
    when it has none. The one list the packet, the report form and outcomes use."""
    raw = campaign.asks if campaign and isinstance(campaign.asks, list) else []
    asks = [
        {"key": str(a["key"]).strip(), "label": str(a["label"]).strip()}
        for a in raw
        if isinstance(a, dict)
        and str(a.get("key") or "").strip()
        and str(a.get("label") or "").strip()
    ]
    return asks[:MAX_ASKS_SHOWN] or [dict(a) for a in DEFAULT_ASKS]


async def campaign_of(meeting: Meeting) -> Campaign | None:
    if not meeting.campaign_id:  # type: ignore[attr-defined]
        return None
    if isinstance(meeting.campaign, Campaign):
        return meeting.campaign
    return await Campaign.get_or_none(id=meeting.campaign_id)  # type: ignore[attr-defined]
