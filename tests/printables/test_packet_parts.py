"""The packet laid out part by part (kit.toolkit.printables.html_to_pdf) is the same PDF as
the packet laid out whole with ``target-counter`` (``render_whole``), byte for byte; its
contents' page numbers are where each section starts; an RSVP lays out only the parts it
changes."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from kit.campaigns.guides import DEFAULT_ASKS, DEFAULT_GUIDE
from kit.toolkit import printables
from tests.toolkit.test_printables import ADDRESS, PLAIN, pdf_reader

NAMES = [f"Guest Number{n}" for n in range(40)]
SECTIONS = {  # a contents line, and what the page its section starts on says first
    "Agenda, on the clock": "Tick each part as you go",
    "Discussion guide": "Hosting a house meeting",
    "Sign-in sheet": "Sign in",
    "Commitment cards": "Cut along the dashed lines",
}


@pytest.fixture(autouse=True)
def nothing_laid_out() -> Iterator[None]:
    printables.LAID_OUT.clear()
    yield
    printables.LAID_OUT.clear()


def packet(guests: int = 30, **meeting: Any) -> printables.Document:
    plain = replace(PLAIN, capacity=guests + 10, **meeting)
    return printables.packet_document(
        plain,
        address=ADDRESS,
        host_name="Rosa Parks",
        agenda=printables.plan_agenda([("Welcome", 30), ("Talk", 60)], plain.starts_at),
        guide_markdown=DEFAULT_GUIDE,
        asks=DEFAULT_ASKS,
        guests=[(name, n % 2) for n, name in enumerate(NAMES[:guests])],
        meeting_url="http://testserver/meetings/abc",
        report_url="http://testserver/manage/abc/report?token=t",
    )


def by_parts(document: printables.Document) -> bytes:
    return printables.html_to_pdf(document.html, repeat_last_page=document.repeat_last_page)


def whole(document: printables.Document) -> bytes:
    return printables.render_whole(document.html, repeat_last_page=document.repeat_last_page)


COVERS = pytest.mark.parametrize(
    ("meeting", "cover_pages"),
    [({}, 1), ({"host_note": "Bring a chair. " * 300}, 2)],
    ids=["one-page cover", "two-page cover"],
)


@COVERS
def test_the_packet_by_parts_is_the_whole_packet_byte_for_byte(
    meeting: dict[str, str], cover_pages: int
) -> None:
    document = packet(**meeting)
    assert printables.PART_BREAK in document.html
    assert by_parts(document) == whole(document)


@COVERS
def test_the_contents_page_numbers_are_where_each_section_starts(
    meeting: dict[str, str], cover_pages: int
) -> None:
    texts = [page.extract_text() for page in pdf_reader(by_parts(packet(**meeting))).pages]
    contents = texts[cover_pages - 1]
    assert "In this packet" in contents and "Tick each part as you go" in texts[cover_pages]
    for line, first_words in SECTIONS.items():
        number = int(re.search(rf"{line}.*?page (\d+)", contents, re.S)[1])  # type: ignore[index]
        assert first_words in texts[number - 1], (line, number)
        assert not any(first_words in text for text in texts[: number - 1]), line
    # Each page's footer number is its place in the file (the cover and cards have none).
    numbered = [(n, re.search(r"Page (\d+)", text)) for n, text in enumerate(texts)]
    assert len([m for _, m in numbered if m]) > 3
    assert all(int(m[1]) == n + 1 for n, m in numbered if m), numbered


def test_an_rsvp_lays_out_the_cover_and_sign_in_sheet_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    laid_out: list[str] = []
    real = printables._layout

    def counting(html: str) -> Any:
        laid_out.append(re.search(r'<section (?:id|class)="(\w+)"', html)[1])  # type: ignore[index]
        return real(html)

    monkeypatch.setattr(printables, "_layout", counting)
    first = by_parts(packet(guests=30))
    assert sorted(laid_out) == ["agenda", "cards", "cover", "guide", "signin"]  # each once
    laid_out.clear()
    again = by_parts(packet(guests=31))  # one more RSVP: the cover's count, the sheet's rows
    assert sorted(laid_out) == ["cover", "signin"]
    assert again != first and again == whole(packet(guests=31))


def test_the_garbage_collector_waits_for_the_render_and_is_back_on_after() -> None:
    passes: list[int] = []

    def counting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(counting)
    try:
        by_parts(packet())
    finally:
        gc.callbacks.remove(counting)
    assert gc.isenabled()
    assert passes == [0]  # one pass over the young objects after the render, none during it
