"""Bar charts for the coordinators' dashboard, drawn on the server as inline SVG.

No JavaScript and no ``style`` attributes (the pages' CSP is ``style-src 'self'``):
only SVG presentation attributes. Text is ``currentColor``, so a chart follows the
page's light or dark colours. Each chart is an image with a name (``aria-label`` and
``<title>``) and a description; every bar carries its own ``<title>`` (a tooltip),
and the page shows the same figures as a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#2a7d75"  # teal: 3:1 or better against both the light and the dark page
WIDTH = 640
FONT = 13


def _number(n: int) -> str:
    return f"{n:,}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, title: str, description: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" aria-describedby="{escape(chart_id)}-desc" '
        f'font-size="{FONT}" fill="currentColor">'
        f"<title>{escape(title)}</title>"
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )


def _empty(chart_id: str, title: str, description: str) -> Markup:
    return Markup(
        _open(chart_id, title, description, 40)
        + '<text x="0" y="24">Nothing to show yet.</text></svg>'
    )


def render_bar_chart(
    chart_id: str, title: str, description: str, bars: Sequence[tuple[str, int]]
) -> Markup:
    """Horizontal bars, one a row: a label, the bar, the number."""
    if not bars:
        return _empty(chart_id, title, description)
    label_w, value_w, row_h, bar_h = 190, 70, 26, 18
    area = WIDTH - label_w - value_w
    top = max((n for _, n in bars), default=0) or 1
    height = row_h * len(bars) + 6
    parts = [_open(chart_id, title, description, height)]
    for i, (label, n) in enumerate(bars):
        y = i * row_h + 4
        w = round(area * n / top, 1)
        parts.append(
            f"<g><title>{escape(label)}: {_number(n)}</title>"
            f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end">'
            f"{escape(_clip(label, 26))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{BAR}" rx="2"/>'
            f'<text x="{label_w + w + 6}" y="{y + bar_h - 4}">{_number(n)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def render_column_chart(
    chart_id: str, title: str, description: str, columns: Sequence[tuple[str, int]]
) -> Markup:
    """Vertical columns along a time axis (weeks); every few labels shown so they fit."""
    if not columns:
        return _empty(chart_id, title, description)
    left, bottom, top_pad, height = 48, 28, 12, 220
    plot_h = height - bottom - top_pad
    step = (WIDTH - left) / len(columns)
    col_w = max(step * 0.75, 1.0)
    top = max((n for _, n in columns), default=0) or 1
    every = max(1, round(len(columns) / 8))
    base = height - bottom
    parts = [
        _open(chart_id, title, description, height),
        f'<line x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="currentColor"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{_number(top)}</text>',
        f'<text x="{left - 6}" y="{base}" text-anchor="end">0</text>',
    ]
    for i, (label, n) in enumerate(columns):
        x = left + i * step + (step - col_w) / 2
        h = round(plot_h * n / top, 1)
        parts.append(
            f"<g><title>{escape(label)}: {_number(n)}</title>"
            f'<rect x="{x:.1f}" y="{base - h}" width="{col_w:.1f}" height="{h}" fill="{BAR}"/>'
            "</g>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + col_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{escape(_clip(label, 10))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
