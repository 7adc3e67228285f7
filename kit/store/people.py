"""People: hosts and guests are the same kind of row, keyed by email.

Typing an address into a form proves nothing about who typed it, so what a form says
never changes a person who is already known: a new person is created with what they
typed, and a known one keeps their name and phone until they change them through a
link the kit emailed to them (``update_person``, called only from such pages).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from kit.store.models import Person


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def find_or_add_person(name: str, email: str, phone: str | None = None) -> Person:
    """The person with this email; created with ``name`` and ``phone`` if new, else as stored."""
    address = normalize_email(email)
    person = await Person.get_or_none(email=address)
    if person is not None:
        return person
    try:
        async with in_transaction():  # a savepoint inside the caller's transaction
            return await Person.create(email=address, name=name.strip(), phone=phone or None)
    except IntegrityError:
        # Someone else's request created the same person a moment ago.
        return await Person.get(email=address)


async def update_person(person: Person, *, name: str, phone: str | None) -> list[str]:
    """Change a person's name and phone: only from a page reached through their mailbox."""
    changed: dict[str, object] = {}
    if name.strip() and name.strip() != person.name:
        changed["name"] = name.strip()
    if (phone or None) != person.phone:
        changed["phone"] = phone or None
    if changed:
        person.update_from_dict(changed)
        await person.save(update_fields=list(changed))
    return list(changed)


async def mark_verified(person: Person, now: datetime | None = None) -> None:
    """The person followed a link the kit emailed to them: their mailbox is proven."""
    if person.email_verified_at is None:
        person.email_verified_at = now or datetime.now(UTC)
        await Person.filter(id=person.id, email_verified_at=None).update(
            email_verified_at=person.email_verified_at
        )
