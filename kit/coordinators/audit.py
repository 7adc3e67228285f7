"""Reading the audit log (the writer, used by lower layers too, is kit.store.audit)."""

from __future__ import annotations

from kit.coordinators.access import Can, require_campaign
from kit.core.errors import PermissionDenied
from kit.store import audit
from kit.store.models import Campaign, Coordinator

# --- The audit log ---------------------------------------------------------------------------


def page_number(raw: str | None) -> int:
    """``?page=`` as a page number; anything else (missing, "x", absurd) is page 1."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


async def read_audit(
    coordinator: Coordinator, slug: str | None, page: str | None
) -> tuple[Campaign | None, audit.AuditPage]:
    """A campaign's audit entries (its coordinators), or everyone's (``slug=None``: admins)."""
    if slug is None:
        if not coordinator.is_admin:
            raise PermissionDenied("Only admins read the whole audit log; open a campaign's.")
        return None, await audit.list_entries(None, page_number(page))
    campaign = await require_campaign(coordinator, slug, need=Can.COORDINATE)
    return campaign, await audit.list_entries(campaign.id, page_number(page))
