"""Coordinators' API tokens: create, list, revoke, and the account a bearer token names."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from kit.coordinators.accounts import row_number
from kit.core.errors import Conflict, KitError, NotFound
from kit.store.models import AccessToken, Coordinator, TokenKind
from kit.store.tokens import find_token, hash_token

MAX_API_TOKENS = 10


class NotSignedIn(KitError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("Sign in as a coordinator first (Authorization: Bearer <API token>).")


# --- API tokens -------------------------------------------------------------------------------


async def create_api_token(coordinator: Coordinator) -> str:
    """A new API token; the raw value is shown once and only its hash is kept."""
    live = await AccessToken.filter(
        coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).count()
    if live >= MAX_API_TOKENS:
        raise Conflict(f"You have {live} API tokens. Revoke one you no longer use first.")
    raw = secrets.token_urlsafe(32)
    await AccessToken.create(
        token_hash=hash_token(raw), kind=TokenKind.COORDINATOR_API, coordinator=coordinator
    )
    return raw


async def list_api_tokens(coordinator: Coordinator) -> list[AccessToken]:
    return await AccessToken.filter(
        coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).order_by("created_at")


async def revoke_api_token(coordinator: Coordinator, token_id: object) -> None:
    number = row_number(token_id)
    revoked = await AccessToken.filter(
        id=number, coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).update(revoked_at=datetime.now(UTC))
    if not revoked:
        raise NotFound("That API token doesn't exist or was already revoked.")


async def coordinator_for_api_token(raw: str | None) -> Coordinator:
    access = await find_token(raw, TokenKind.COORDINATOR_API)
    coordinator = access and await Coordinator.get_or_none(id=access.coordinator_id)  # type: ignore[attr-defined]
    if not coordinator:
        raise NotSignedIn()
    return coordinator
