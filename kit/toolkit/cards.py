"""The preview card a link to a meeting shows in chats and feeds (``og:image``).

A leaf: plain text in (title, day, town: only public facts), PNG bytes out, drawn with
Pillow (a WeasyPrint dependency) in the kit's colors and DejaVu fonts. Cards are cached
by their words, so a busy share costs one drawing until the meeting changes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630  # what Facebook, WhatsApp, X and Nextdoor all accept
MARGIN = 80
FONTS = Path("/usr/share/fonts/truetype/dejavu")
PAPER, INK, ACCENT, MUTED = "#fbf7f0", "#221a14", "#a8461c", "#5b4d42"
MAX_TITLE_LINES = 3


@dataclass(frozen=True)
class Card:
    title: str
    when: str  # "Sun Dec 13, 2026 · 6:30 PM"
    town: str  # "Near New York 10027" or a venue's town
    site: str  # "House Meeting Kit"


def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(FONTS / name), size)
    except OSError:  # no DejaVu on this machine: Pillow's own font still draws the words
        return ImageFont.load_default(size)


def wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> list[str]:
    """Words in lines that fit the card, at most MAX_TITLE_LINES (the last one cut with …)."""
    width = WIDTH - 2 * MARGIN
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=face) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > MAX_TITLE_LINES:
        lines = lines[:MAX_TITLE_LINES]
        lines[-1] = lines[-1] + " …"
    while lines and draw.textlength(lines[-1], font=face) > width:  # one very long word
        lines[-1] = lines[-1][:-2] + "…"
    return lines


@lru_cache(maxsize=256)
def render_card(card: Card) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 24, HEIGHT), fill=ACCENT)
    draw.text((MARGIN, MARGIN), card.site.upper(), font=font(30, bold=True), fill=ACCENT)
    title = font(68, bold=True)
    y = MARGIN + 70
    for line in wrap(draw, card.title, title):
        draw.text((MARGIN, y), line, font=title, fill=INK)
        y += 82
    details = font(40)
    draw.text((MARGIN, HEIGHT - MARGIN - 110), card.when, font=details, fill=INK)
    draw.text((MARGIN, HEIGHT - MARGIN - 50), card.town, font=details, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
