"""Coordinators' Markdown (discussion guides) to HTML that is safe to print.

Two layers: markdown-it-py in CommonMark mode with raw HTML turned off (a
``<script>`` is printed as text, never parsed) and its own link check (no
``javascript:``, ``vbscript:`` or ``file:`` links), then nh3 (ammonia) with an
allow-list of tags, attributes and URL schemes, as defence in depth.

Images: a guide is printed, and the renderer never fetches anything remote, so a
remote image becomes a short "[Image: alt]" placeholder at conversion time; only
small inline ``data:`` pictures (PNG, JPEG, GIF, WebP) are kept.

Size: the PDF renderer's time grows with the number of blocks (a list item or a
table row costs as much as a paragraph: 2,500 list items take WeasyPrint ~7 s),
so a guide is limited both in characters (``MAX_GUIDE_CHARS``, about 25 printed
pages of prose, under 1 s to render) and in blocks (``MAX_GUIDE_BLOCKS``).
``check_guide_markdown`` refuses a longer guide with ``GuideTooLongError``, whose
message is written for the coordinator's form (the kit puts it on the guide field).
A guide that is already stored and too long (written before the limit, or straight
into the database) is still printed, cut at the limit with a note saying so, so
that a packet always renders in bounded time.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

MAX_GUIDE_CHARS = 100_000  # about 25 printed pages of prose
MAX_GUIDE_BLOCKS = 600  # paragraphs, headings, list items, table rows… (~2 s at worst)
MAX_GUIDE_LINES = 3_000  # checked first: cheap, and bounds the Markdown parser's work too
TRUNCATED_NOTE = "This guide was cut short for printing: it is longer than the kit prints."

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DATA_IMAGE_RE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")
LINK_SCHEMES = ("http:", "https:", "mailto:")

TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "hr",
    "blockquote",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "s",
    "code",
    "pre",
    "a",
    "img",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
    "span": {"class"},
}


class GuideTooLongError(ValueError):
    """A guide too long to print in bounded time; ``str(error)`` is safe to show its author."""


def check_guide_markdown(text: str) -> str:
    """A coordinator's guide, cleaned of control characters; refused when too long to print."""
    text = CONTROL_RE.sub("", text.replace("\r\n", "\n"))
    if len(text) > MAX_GUIDE_CHARS:
        raise GuideTooLongError(
            f"The guide is too long to print: {len(text):,} characters, at most "
            f"{MAX_GUIDE_CHARS:,} (about 25 pages). Shorten it, or link to the "
            "longer material instead."
        )
    lines = text.count("\n") + 1
    if lines > MAX_GUIDE_LINES or _block_limit_line(text) is not None:
        raise GuideTooLongError(
            f"The guide is too long to print: more than {MAX_GUIDE_BLOCKS} paragraphs, "
            "list items and table rows. Shorten it, or link to the longer material "
            "instead."
        )
    return text


def _block_limit_line(text: str) -> int | None:
    """The source line where the guide passes ``MAX_GUIDE_BLOCKS`` blocks, if it does.

    Parses the guide once more (markdown-it-py, ~0.1 s for 3,000 lines); renders are
    cached, so it runs once per guide text and process."""
    blocks = 0
    for token in _MD.parse(text):
        if token.block and token.nesting == 1:
            blocks += 1
            if blocks > MAX_GUIDE_BLOCKS and token.map:
                return token.map[0]
    return None


def _image(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Inline data: pictures stay; anything else is a placeholder, never a fetch."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    if DATA_IMAGE_RE.match(src):
        return f'<img src="{escape(src)}" alt="{escape(alt)}">'
    label = f"Image: {alt}" if alt else "Image not printed"
    return f'<span class="image-placeholder">[{escape(label)}]</span>'


def _validate_link(url: str) -> bool:
    """markdown-it's own check, narrowed: web and mail links, and data: pictures."""
    lowered = url.strip().lower()
    return lowered.startswith(LINK_SCHEMES) or lowered.startswith("data:image/")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": True})
    md.enable(["table", "strikethrough", "replacements", "smartquotes"])
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image)
    return md


_MD = _parser()


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if value.strip().lower().startswith(LINK_SCHEMES) else None
    if tag == "img" and attribute == "src":
        return value if DATA_IMAGE_RE.match(value) else None
    if tag == "span" and attribute == "class":
        return value if value == "image-placeholder" else None
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )


def markdown_to_html(text: str) -> str:
    """Sanitized HTML for a guide; a too-long guide is cut with a note (see the module doc)."""
    text = text.replace("\r\n", "\n")
    return _render(text[:MAX_GUIDE_CHARS], len(text) > MAX_GUIDE_CHARS)


@lru_cache(maxsize=32)  # keys are at most MAX_GUIDE_CHARS long
def _render(text: str, clipped: bool) -> str:
    text = CONTROL_RE.sub("", text)
    if clipped and (cut := text.rfind("\n\n")) > 0:
        text = text[:cut]  # end on a paragraph break, not mid-word
    if text.count("\n") >= MAX_GUIDE_LINES:
        text, clipped = "\n".join(text.split("\n")[:MAX_GUIDE_LINES]), True
    if (line := _block_limit_line(text)) is not None:
        text, clipped = "\n".join(text.split("\n")[:line]), True
    html = sanitize_html(_MD.render(text))
    if clipped:
        html += f'<p class="guide-truncated">{escape(TRUNCATED_NOTE)}</p>'
    return html
