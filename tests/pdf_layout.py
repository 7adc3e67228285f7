"""A layout check for the PDFs the kit makes: no two text boxes on a page overlap,
and none runs off the paper.

pdfium gives each run of text on a line as a box in points (left, bottom, right,
top). Text printed over other text, or a line pushed past the paper's edge, shows
up as two boxes that cross or a box outside the page: exactly what a host would
see as a smudge or a cut-off word. Boxes that merely touch (a bold run next to a
plain one on the same line, lines set tight) are not overlaps: they must cross by
more than ``TOLERANCE`` in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2 as pdfium

TOLERANCE = 1.0  # points (0.35 mm)


@dataclass(frozen=True)
class TextBox:
    page: int
    left: float
    bottom: float
    right: float
    top: float
    text: str

    def crosses(self, other: TextBox) -> bool:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.top, other.top) - max(self.bottom, other.bottom)
        return width > TOLERANCE and height > TOLERANCE

    def __str__(self) -> str:
        box = f"({self.left:.0f}, {self.bottom:.0f})–({self.right:.0f}, {self.top:.0f})"
        return f"page {self.page + 1} {box} {self.text!r}"


def text_boxes(data: bytes) -> list[tuple[tuple[float, float], list[TextBox]]]:
    """Each page's size in points and its text boxes, as pdfium lays them out."""
    document = pdfium.PdfDocument(data)
    pages = []
    try:
        for n, page in enumerate(document):
            text = page.get_textpage()
            boxes = []
            for i in range(text.count_rects()):
                rect = text.get_rect(i)
                words = text.get_text_bounded(*rect).strip()
                if words:
                    boxes.append(TextBox(n, *rect, text=words.splitlines()[0][:60]))
            pages.append((page.get_size(), boxes))
    finally:
        document.close()
    return pages


def layout_problems(data: bytes) -> list[str]:
    """What a reader would see as badly printed: overlapping text, text off the page."""
    problems = []
    for (width, height), boxes in text_boxes(data):
        for box in boxes:
            off = box.left < -TOLERANCE or box.bottom < -TOLERANCE
            if off or box.right > width + TOLERANCE or box.top > height + TOLERANCE:
                problems.append(f"runs off the page: {box}")
        for n, box in enumerate(boxes):
            problems.extend(
                f"overlap: {box} and {other}" for other in boxes[n + 1 :] if box.crosses(other)
            )
    return problems


def assert_lays_out(data: bytes) -> None:
    problems = layout_problems(data)
    assert not problems, "\n".join(problems[:20])
