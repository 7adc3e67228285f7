"""The house-meeting guide, agenda and asks the kit ships for meetings without a campaign,
and the reading of stored agendas (the clock times are ``kit.toolkit.printables.plan_agenda``)."""

from __future__ import annotations

DEFAULT_AGENDA: list[dict[str, object]] = [
    {"title": "Welcome and introductions", "minutes": 10},
    {"title": "Why we came: one story each", "minutes": 25},
    {"title": "Discussion", "minutes": 35},
    {"title": "The ask", "minutes": 10},
    {"title": "Commitments and sign-in sheet", "minutes": 10},
    {"title": "Next steps and the next meeting", "minutes": 10},
]

DEFAULT_ASKS: list[dict[str, str]] = [
    {"key": "host", "label": "Host a meeting"},
    {"key": "volunteer", "label": "Volunteer"},
    {"key": "next_action", "label": "Come to the next action"},
    {"key": "donate", "label": "Donate monthly"},
]

DEFAULT_GUIDE = """\
# Hosting a house meeting

Thank you for opening your door. A house meeting is a small, honest conversation
between neighbors: eight to fifteen people, about two hours, one living room.
Nobody needs to be an expert. Your job is to welcome people, keep time, and make
sure everyone is heard. The agenda gives you a clock time for each part; it is
a guide, not a rule.

## Before people arrive

- Set out chairs in a circle so everyone can see each other.
- Put the sign-in sheet and a pen by the door; have name tags, water and
  something small to eat.
- Read this guide once and pick the questions you like best.
- Ask one guest in advance to help: to greet people at the door, or to keep time.

## Welcome and introductions

Start on time, even if a few people are still coming in. Thank everyone for
coming, and say in a sentence or two why *you* decided to host.

Go around the room: each person says their name, which street they live on, and
how long they have lived here. Then agree on two simple ground rules:

1. One person speaks at a time, and everyone gets a turn before anyone speaks twice.
2. What people share about their own lives stays in the room.

## Why we came: one story each

Ask each person to tell a short story, two or three minutes, about why they came
tonight: something that happened to them or to someone they love. Go first, to
show how short and how personal a story can be.

Stories are the heart of the meeting: they show what we have in common, and they
are why people come back. Listen for the things that come up more than once and
write them down. Don't debate a story or fix it; thank the person who told it.

## Discussion

Choose three to five of these questions. Read each one aloud and give people a
moment to think before anyone answers.

1. What did you hear in each other's stories that surprised you?
2. What is one thing that would make daily life better on our streets?
3. Who makes the decisions about this, and do they know how we feel?
4. What have neighbors here already tried? What worked, and what didn't?
5. If ten more houses held a meeting like this one, what could we do together?

Keep an eye on the clock and gently invite quieter people in: "We haven't heard
from everyone yet. Would anyone else like to add something?" If one person talks
too long, thank them warmly and turn to the next person.

## The ask

Make one clear, concrete ask. People say yes to a specific invitation far more
often than to a general one. For example: "Will you come with me to the council
meeting on the 14th?" or "Will you host a meeting like this one in your home
next month?"

Ask, then stop talking. Silence is fine: people are deciding. Look around the room
and let each person answer. A "not now" is an honest answer too; thank them.

## Commitments

Pass around the commitment cards and the sign-in sheet. Everyone writes their
name and ticks what they are willing to do; they fill in an email or phone only
if they want to be contacted. Anyone who ticks "host a meeting" will get their
own invitation to host, with this same kit.

Read the commitments back to the room. Hearing "four of us will be at the council
meeting" is what turns a good conversation into a plan.

## Next steps and the next meeting

Agree on one thing the group will do before the next meeting, and who will do it.
Set the date of the next meeting before anyone leaves, and write it down where
everyone can see it:

- **Next meeting:** date ______________ time ________ at ______________________
- **Before then we will:** ____________________________________________________
- **Who is bringing a friend:** ________________________________________________

End on time and thank everyone again. The people who stay to help stack chairs
are often your next hosts: ask them.

## After the meeting

Within a day, file your report: scan the code on the cover of your host packet,
or use the link in your email. Say who came, what they committed to, the ideas
raised, and a story worth sharing (with the teller's permission). It takes five
minutes, and it is how tonight's conversation joins everyone else's.
"""


def agenda_items(raw: object) -> list[tuple[str, int]]:
    """(title, minutes) pairs from stored agenda JSON, skipping malformed entries."""
    items = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        title = str(entry.get("title") or "").strip()
        try:
            minutes = int(entry.get("minutes") or 0)
        except (TypeError, ValueError):
            continue
        if title and 0 <= minutes <= 24 * 60:
            items.append((title, minutes))
    return items
