"""Signing in: magic links (15 minutes, single use, stored hashed), passwords hashed
with argon2, and the lockout after failed attempts (per IP and email, and per account).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from kit.coordinators.accounts import change_and_end_sessions
from kit.core import urls
from kit.core import validation as v
from kit.core.errors import NotFound, RateLimited, ValidationError
from kit.core.settings import Limit, Settings
from kit.outbox.email import queue_email
from kit.store.models import AccessToken, Coordinator, RateCounter, TokenKind
from kit.store.ratelimit import hit
from kit.store.tokens import hash_token

LOGIN_TTL = timedelta(minutes=15)
SIGNIN_PER_EMAIL = Limit(5, 3600)
SIGNIN_PER_IP = Limit(20, 3600)
PASSWORD_FAILURES = Limit(5, 900)  # per IP and email
# Per account, from every IP together: 20 an hour lets a person mistype for a while, and
# holds a guesser with thousands of addresses to 480 guesses a day.
ACCOUNT_PASSWORD_FAILURES = Limit(20, 3600)

MIN_PASSWORD, MAX_PASSWORD = 12, 256

_hasher = PasswordHasher()
_hash_limiter = anyio.CapacityLimiter(2)  # argon2 takes 64 MiB per hash: a few at a time
_dummy_hash: str | None = None


class SigninLinkInvalid(NotFound):
    def __init__(self) -> None:
        super().__init__("This sign-in link has expired or was already used. Ask for a new one.")


# --- Magic links ----------------------------------------------------------------------------


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site under /coordinators, or the home."""
    if path and path.startswith("/coordinators") and "//" not in path and "\\" not in path:
        return path[:500]
    return "/coordinators"


async def send_signin_link(
    email: str, *, ip: str, site: Settings, next_path: str = "", now: datetime | None = None
) -> None:
    """Email a sign-in link if the address is a coordinator's. The caller answers the same
    either way, so nobody learns from it who coordinates."""
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:
        raise ValidationError(problems)
    busy = "Several sign-in links were asked for just now. Please wait a while and try again."
    await hit(f"coordinator-signin:ip:{ip}", SIGNIN_PER_IP, message=busy)
    await hit(f"coordinator-signin:email:{address}", SIGNIN_PER_EMAIL, message=busy)
    coordinator = await Coordinator.get_or_none(email=address)
    if coordinator is None:
        return
    raw = secrets.token_urlsafe(32)
    url = urls.coordinator_signin(site.base_url, raw)
    if safe_next(next_path) != "/coordinators":
        url += f"?next={quote(safe_next(next_path))}"
    expires_at = (now or datetime.now(UTC)) + LOGIN_TTL
    async with in_transaction():
        await AccessToken.create(
            token_hash=hash_token(raw),
            kind=TokenKind.COORDINATOR_LOGIN,
            coordinator=coordinator,
            expires_at=expires_at,
        )
        await queue_email(
            "coordinator_signin",
            to=address,
            expires_at=expires_at,
            context={
                "coordinator": coordinator,
                "signin_url": url,
                "minutes": int(LOGIN_TTL.total_seconds() // 60),
                "site": site.public,
            },
        )


def _live_login(raw: str | None, now: datetime) -> Any:
    if not raw or len(raw) > 100:
        raise SigninLinkInvalid()
    return AccessToken.filter(
        token_hash=hash_token(raw),
        kind=TokenKind.COORDINATOR_LOGIN,
        revoked_at=None,
        expires_at__gt=now,
    )


async def check_signin_token(raw: str | None, now: datetime | None = None) -> Coordinator:
    """The coordinator a live sign-in link belongs to, without using it up."""
    token = await _live_login(raw, now or datetime.now(UTC)).first()
    if token is None:
        raise SigninLinkInvalid()
    return await Coordinator.get(id=token.coordinator_id)


async def consume_signin_token(raw: str | None, now: datetime | None = None) -> Coordinator:
    """Use a sign-in link up (one conditional UPDATE, so two clicks can't both win)."""
    now = now or datetime.now(UTC)
    if not await _live_login(raw, now).update(revoked_at=now):
        raise SigninLinkInvalid()
    token = await AccessToken.get(token_hash=hash_token(str(raw)))
    return await Coordinator.get(id=token.coordinator_id)  # type: ignore[attr-defined]


# --- Passwords ------------------------------------------------------------------------------


async def _hash(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_hash_limiter)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def set_password(coordinator: Coordinator, raw: Mapping[str, Any]) -> None:
    password, confirm = str(raw.get("password") or ""), str(raw.get("password_confirm") or "")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError(
            {"password": f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters; a passphrase works."}
        )
    if password != confirm:
        raise ValidationError({"password_confirm": "The two passwords are not the same."})
    # A new password ends every session: whoever knew the old one is out.
    await change_and_end_sessions(coordinator, password_hash=await _hash(password))


async def remove_password(coordinator: Coordinator) -> None:
    await change_and_end_sessions(coordinator, password_hash=None)


async def _refuse_while_locked(key: str, limit: Limit, message: str, now: datetime) -> None:
    """Raise RateLimited if ``key`` already used up its window (without counting a hit)."""
    counter = await RateCounter.get_or_none(key=key[:200])
    window = timedelta(seconds=limit.seconds)
    if counter and counter.window_start > now - window and counter.hits >= limit.hits:
        retry = counter.window_start + window - now
        raise RateLimited(message, retry_after=max(int(retry.total_seconds()) + 1, 1))


async def sign_in_with_password(email: str, password: str, *, ip: str) -> Coordinator:
    """The coordinator, if the password matches; only failures count towards the limit."""
    global _dummy_hash
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:  # no such account can exist: nothing to check or count
        raise ValidationError(problems)
    key = f"coordinator-password:{ip}:{address}"
    account_key = f"coordinator-password:account:{address}"
    locked = "Too many wrong passwords. Wait a few minutes, or sign in with an email link."
    account_locked = (
        "Too many wrong passwords were tried for this account in the last hour, so password "
        "sign-in is paused for it. Sign in with an email link instead: that still works."
    )
    now = datetime.now(UTC)
    # Before checking anything: while locked, even the right password is refused.
    await _refuse_while_locked(key, PASSWORD_FAILURES, locked, now)
    await _refuse_while_locked(account_key, ACCOUNT_PASSWORD_FAILURES, account_locked, now)
    coordinator = await Coordinator.get_or_none(email=address)
    stored = coordinator.password_hash if coordinator else None
    if stored is None:  # same work as a real check, so timing doesn't tell who has a password
        _dummy_hash = _dummy_hash or await _hash(secrets.token_urlsafe(16))
    checked = await anyio.to_thread.run_sync(
        _verify, stored or _dummy_hash or "", password[:MAX_PASSWORD], limiter=_hash_limiter
    )
    if coordinator is None or stored is None or not checked:
        # Unknown addresses count too, so a lock doesn't tell who coordinates.
        await hit(account_key, ACCOUNT_PASSWORD_FAILURES, message=account_locked)
        await hit(key, PASSWORD_FAILURES, message=locked)
        raise ValidationError({"password": "That email and password don't match."})
    if _hasher.check_needs_rehash(stored):
        await Coordinator.filter(id=coordinator.id).update(password_hash=await _hash(password))
    return coordinator
