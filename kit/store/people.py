"""People: hosts and guests are the same kind of row, keyed by email.

Typing an address into a form proves nothing about who typed it, so what a form says
never changes a person who is already known: a new person is created with what they
typed, and a known one keeps their name and phone until they change them through a
link the kit emailed to them (``update_person``, called only from such pages).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise import Tortoise

from kit.store.models import Person
from kit.store.sql import SqlParams


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def find_or_add_person(name: str, email: str, phone: str | None = None) -> Person:
    """The person with this email; created with ``name`` and ``phone`` if new, else as stored."""
    person, _ = await add_or_find_person(name, email, phone)
    return person


async def add_or_find_person(
    name: str, email: str, phone: str | None = None
) -> tuple[Person, bool]:
    """``find_or_add_person``, and whether the person was added just now (so nothing of
    theirs can exist yet). One statement for a new address: an INSERT that does nothing
    when the address is known (then the stored row is read), so there is no savepoint
    to race another request's insert of the same address."""
    address = normalize_email(email)
    now = datetime.now(UTC)
    conn = Tortoise.get_connection("default")  # the transaction's, inside one
    p = SqlParams(conn.capabilities.dialect)
    values = [p.add(name.strip()), p.add(address), p.add(phone or None), p.time(now)]
    rows = await conn.execute_query_dict(
        "INSERT INTO person (name, email, phone, email_verified_at, trusted, created_at) "
        f"VALUES ({values[0]}, {values[1]}, {values[2]}, NULL, {p.add(False)}, {values[3]}) "
        "ON CONFLICT (email) DO NOTHING RETURNING id",
        p.values,
    )
    if not rows:
        return await Person.get(email=address), False
    person = Person._init_from_db(
        id=rows[0]["id"],
        name=name.strip(),
        email=address,
        phone=phone or None,
        email_verified_at=None,
        trusted=False,
        created_at=now,
    )
    return person, True


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
