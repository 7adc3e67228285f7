"""Use cases for campaigns."""

from __future__ import annotations

from kit.errors import CampaignNotFound
from kit.models import Campaign
from kit.validation import can_be_key

SLUG_LENGTH = 64


async def list_campaigns() -> list[Campaign]:
    """Public campaigns, newest window first."""
    return await Campaign.filter(is_public=True).order_by("-starts_on", "name")


async def get_campaign(slug: str) -> Campaign:
    campaign = await Campaign.get_or_none(slug=slug) if can_be_key(slug, SLUG_LENGTH) else None
    if campaign is None:
        raise CampaignNotFound()
    return campaign


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
