"""Coordinators' Markdown becomes HTML that is safe to print, and never asks for a URL."""

from __future__ import annotations

import re
import time

import pytest

from kit.campaigns.guides import DEFAULT_GUIDE
from kit.toolkit.markdown import (
    MAX_GUIDE_BLOCKS,
    MAX_GUIDE_CHARS,
    TRUNCATED_NOTE,
    GuideTooLongError,
    check_guide_markdown,
    markdown_to_html,
    sanitize_html,
)

HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](jav&#x61;script:alert(1))",
    "<javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=http://127.0.0.1/></iframe>",
    "<style>body{background:url(http://127.0.0.1/x.png)}</style>",
    '<link rel="stylesheet" href="http://127.0.0.1/x.css">',
]


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_markdown_is_neutralized(markdown: str) -> None:
    html = markdown_to_html(f"# Guide\n\n{markdown}\n")
    lowered = html.lower()
    for tag in ("<script", "<iframe", "<style", "<link"):
        assert tag not in lowered
    assert not re.search(r"<[^>]*\son\w+=", lowered)  # no event handler on a real tag
    for scheme in ("javascript:", "vbscript:", "data:text", "file:"):
        assert f'href="{scheme}' not in lowered
    assert not re.search(r"<img[^>]+src=\"(?!data:image/)", html)


def test_raw_html_is_printed_as_text_not_parsed() -> None:
    html = markdown_to_html("<script>alert(1)</script>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_remote_images_become_a_placeholder_never_a_fetchable_src() -> None:
    html = markdown_to_html("![Our flyer](http://127.0.0.1:9/x.png) ![](https://example.org/y.jpg)")
    assert "<img" not in html
    assert "[Image: Our flyer]" in html
    assert "[Image not printed]" in html


def test_small_inline_pictures_are_kept_but_not_svg() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    html = markdown_to_html(f"![logo]({png}) ![s](data:image/svg+xml;base64,PHN2Zz4=)")
    assert f'<img src="{png}" alt="logo">' in html
    assert "svg" not in html.split("[Image: s]")[0].split(png)[-1]
    assert "[Image: s]" in html


def test_web_and_mail_links_and_tables_survive() -> None:
    html = markdown_to_html(
        "[Site](https://example.org/a?b=1&c=2) [Mail](mailto:org@example.org)\n\n"
        "| Step | Minutes |\n|---|--:|\n| Welcome | 10 |\n\n**bold** _em_ ~~gone~~"
    )
    assert '<a href="https://example.org/a?b=1&amp;c=2">Site</a>' in html
    assert '<a href="mailto:org@example.org">Mail</a>' in html
    assert '<td style="text-align:right">10</td>' in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html and "<s>gone</s>" in html


def test_sanitizer_alone_drops_what_markdown_it_would_never_emit() -> None:
    html = sanitize_html(
        '<a href="javascript:alert(1)" onclick="x()">a</a><img src="http://h/x.png" alt="p">'
        '<table><tr><td style="color:red;text-align:center">c</td></tr></table>'
        '<span class="evil">s</span>'
    )
    assert "javascript" not in html and "onclick" not in html
    assert "http://h/x.png" not in html
    assert "color" not in html and "text-align:center" in html
    assert "evil" not in html


def test_control_characters_are_dropped() -> None:
    assert "\x00" not in markdown_to_html("a\x00b\x1bc")
    assert check_guide_markdown("a\x00b\r\nc") == "ab\nc"


def test_a_5_mb_guide_is_refused_with_a_clear_message() -> None:
    huge = ("A long paragraph about our neighborhood. " * 20 + "\n\n") * 6_100
    assert len(huge) > 5_000_000
    with pytest.raises(GuideTooLongError) as caught:
        check_guide_markdown(huge)
    message = str(caught.value)
    assert "too long to print" in message
    assert f"{MAX_GUIDE_CHARS:,}" in message


def test_too_many_blocks_are_refused_too() -> None:
    with pytest.raises(GuideTooLongError) as caught:
        check_guide_markdown("- item\n" * (MAX_GUIDE_BLOCKS + 10))
    assert "list items" in str(caught.value)


def test_a_stored_5_mb_guide_is_printed_cut_short_with_a_note_quickly() -> None:
    huge = ("A long paragraph about our neighborhood. " * 20 + "\n\n") * 6_100
    started = time.perf_counter()
    html = markdown_to_html(huge)
    assert time.perf_counter() - started < 2
    assert html.endswith(f'<p class="guide-truncated">{TRUNCATED_NOTE}</p>')
    assert len(html) < MAX_GUIDE_CHARS * 1.2


def test_a_guide_of_many_list_items_is_cut_at_the_block_limit() -> None:
    html = markdown_to_html("- item\n" * 50_000)
    assert html.count("<li>") <= MAX_GUIDE_BLOCKS
    assert TRUNCATED_NOTE in html


def test_the_default_guide_fits_the_limits_and_has_every_section() -> None:
    assert check_guide_markdown(DEFAULT_GUIDE) == DEFAULT_GUIDE
    headings = re.findall(r"^#+ (.+)$", DEFAULT_GUIDE, flags=re.M)
    for section in (
        "Welcome and introductions",
        "Why we came: one story each",
        "Discussion",
        "The ask",
        "Commitments",
        "Next steps and the next meeting",
    ):
        assert section in headings
    discussion = DEFAULT_GUIDE.split("## Discussion", 1)[1].split("\n## ", 1)[0]
    assert 3 <= len(re.findall(r"^\d+\. ", discussion, flags=re.M)) <= 5
    assert "Next meeting:" in DEFAULT_GUIDE
