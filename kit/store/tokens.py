"""Secret links: 256 random bits handed out once, stored only as a SHA-256 hash.

A plain hash is enough (no salt, no slow KDF) because the secret is random and
long: there is no dictionary to attack. A wrong, revoked or unknown token is
simply "not found", so callers answer 404 and never confirm that a link exists.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from kit.store.models import AccessToken, Meeting, Person, Rsvp, TokenKind


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_token(
    kind: TokenKind,
    *,
    meeting: Meeting | None = None,
    rsvp: Rsvp | None = None,
    person: Person | None = None,
    expires_at: datetime | None = None,
) -> str:
    raw = secrets.token_urlsafe(32)
    await AccessToken.create(
        token_hash=hash_token(raw),
        kind=kind,
        meeting=meeting,
        rsvp=rsvp,
        person=person,
        expires_at=expires_at,
    )
    return raw


async def find_token(raw: str | None, kind: TokenKind) -> AccessToken | None:
    """The live token matching ``raw``, or None (unknown, revoked or of another kind)."""
    if not raw or len(raw) > 100:
        return None
    return await AccessToken.get_or_none(token_hash=hash_token(raw), kind=kind, revoked_at=None)


async def revoke_tokens(kind: TokenKind, **owner: Meeting | Rsvp | Person) -> int:
    """Revoke every live token of ``kind`` for the owner; return how many."""
    return await AccessToken.filter(kind=kind, revoked_at=None, **owner).update(
        revoked_at=datetime.now(UTC)
    )
