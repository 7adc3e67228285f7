"""People: hosts and guests are the same kind of row, keyed by email."""

from __future__ import annotations

from kit.models import Person


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def upsert_person(name: str, email: str, phone: str | None = None) -> Person:
    """The person with this email, created or updated with the latest name and phone."""
    person, created = await Person.get_or_create(
        email=normalize_email(email), defaults={"name": name.strip(), "phone": phone or None}
    )
    if not created:
        changed = {}
        if name.strip() and name.strip() != person.name:
            changed["name"] = name.strip()
        if phone and phone != person.phone:
            changed["phone"] = phone
        if changed:
            person.update_from_dict(changed)
            await person.save(update_fields=list(changed))
    return person
