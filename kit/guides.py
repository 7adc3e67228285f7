"""The house-meeting guide, agenda and asks the kit ships for meetings without a campaign."""

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
sure everyone is heard.

## Before people arrive

- Set out chairs in a circle so everyone can see each other.
- Put the sign-in sheet and a pen by the door.
- Have name tags, water, and something small to eat.
- Read this guide once, and pick the questions you like best.

## Welcome and introductions (10 minutes)

Thank everyone for coming. Say in a sentence or two why *you* decided to host.
Go around the room: each person says their name, which street they live on, and
how long they have lived here.

Agree on two simple ground rules: one person speaks at a time, and what people
share about their lives stays in the room.

## Why we came (25 minutes)

Ask each person to tell a short story — two or three minutes — about why they
came tonight. Something that happened to them or someone they love. Stories are
the heart of the meeting: they show what we have in common. Listen for the
things that come up more than once and write them down.

## Discussion (35 minutes)

Choose three to five of these questions:

1. What did you hear in each other's stories that surprised you?
2. What is one thing that would make daily life better on our streets?
3. Who makes the decisions about this, and do they know how we feel?
4. What have neighbors here already tried? What worked?
5. If ten more houses held a meeting like this one, what could we do together?

Keep an eye on the clock and gently invite quieter people in: "We haven't heard
from everyone yet — would anyone else like to add something?"

## The ask (10 minutes)

Make one clear, concrete ask. People say yes to a specific invitation far more
often than to a general one. For example: "Will you come with me to the council
meeting on the 14th?" or "Will you host a meeting like this one in your home?"
Pause after you ask. Silence is fine.

## Commitments (10 minutes)

Pass around the commitment cards and the sign-in sheet. Everyone ticks what they
are willing to do. Anyone who ticks "host a meeting" will get their own
invitation to host — with this same kit.

## Next steps (10 minutes)

Agree on one thing the group will do before the next meeting, and who will do
it. Set the date of the next meeting before people leave. Thank everyone again.

## After the meeting

Within a day, file your report with the link in your email: who came, what they
committed to, the ideas raised, and a story worth sharing. It takes five
minutes, and it is how tonight's conversation joins everyone else's.
"""
