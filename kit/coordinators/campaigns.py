"""Coordinators write campaigns and open their exports."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from kit.campaigns.input import CampaignInput
from kit.coordinators import exports
from kit.coordinators.access import Can, require_campaign
from kit.core.errors import NotFound, PermissionDenied, ValidationError
from kit.store import audit
from kit.store.models import Campaign, Coordinator

# --- Campaigns ------------------------------------------------------------------------------


async def create_campaign(coordinator: Coordinator, data: CampaignInput) -> Campaign:
    if not coordinator.is_admin:
        raise PermissionDenied("Only admins start new campaigns. Ask one to create it for you.")
    if await Campaign.filter(slug=data.slug).exists():
        raise ValidationError({"slug": f"The address “{data.slug}” is taken. Pick another."})
    async with in_transaction():
        campaign = await Campaign.create(**data.as_fields())
        await audit.record("campaign.create", actor=coordinator, campaign=campaign)
    return campaign


async def update_campaign(
    coordinator: Coordinator, campaign: Campaign, data: CampaignInput
) -> Campaign:
    """Change everything but the slug: links, feeds and printed flyers carry it."""
    fields = {k: val for k, val in data.as_fields().items() if k != "slug"}
    changed = sorted(k for k, val in fields.items() if getattr(campaign, k) != val)
    campaign.update_from_dict(fields)
    async with in_transaction():
        await campaign.save(update_fields=list(fields))
        detail = f"changed: {', '.join(changed)}" if changed else "saved without changes"
        await audit.record("campaign.edit", actor=coordinator, campaign=campaign, detail=detail)
    return campaign


async def open_export(coordinator: Coordinator, slug: str, kind: str) -> Campaign:
    """The campaign whose ``kind`` export this coordinator may download, with the
    download written to the audit log. Exports with contacts need COORDINATE."""
    if kind not in exports.EXPORTS:
        raise NotFound("There is no such export.")
    need = Can.VIEW if kind in exports.WITHOUT_CONTACTS else Can.COORDINATE
    campaign = await require_campaign(coordinator, slug, need=need)
    await audit.record("export", actor=coordinator, campaign=campaign, detail=kind)
    return campaign
