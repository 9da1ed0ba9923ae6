"""Small HTML building blocks: self-contained pages with images embedded as data URIs."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from spinml.io import encode_png

__all__ = ["esc", "data_uri", "img", "thumbnail", "figure_png", "table", "fmt", "page", "gallery", "Raw"]

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td.t, th.t { text-align: left; }
.gallery { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0; text-align: center; font-size: 11px; color: #555; }
figure img { display: block; image-rendering: pixelated; border: 1px solid #ccc; }
.note { color: #666; font-size: 12px; } .warn { color: #a40; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, alt: str = "", width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return f'<img src="{data_uri(png)}" alt="{esc(alt)}"{size}>'


def thumbnail(image: np.ndarray, side: int) -> bytes:
    """PNG of ``image`` resized to fit ``side`` x ``side`` (nearest when enlarging, so small
    images stay sharp)."""
    from PIL import Image

    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    h, w = a.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    return encode_png(np.asarray(Image.fromarray(a).resize(size, resample)))


def figure_png(fig: Any) -> bytes:
    """PNG bytes of a matplotlib ``Figure`` drawn with the Agg canvas (no pyplot state)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return esc(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, text_columns: int = 1) -> str:
    """A table; the first ``text_columns`` columns are left-aligned, cells are escaped
    unless they are already HTML (instances of :class:`Raw`)."""

    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="t"' if i < text_columns else ""
        return f"<{tag}{cls}>{v.html if isinstance(v, Raw) else fmt(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class Raw:
    """Trusted HTML for a table cell."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text


def gallery(items: Iterable[tuple[bytes, str]]) -> str:
    figs = "".join(f"<figure>{img(png, caption)}<figcaption>{esc(caption)}</figcaption></figure>"
                   for png, caption in items)
    return f'<div class="gallery">{figs}</div>' if figs else '<p class="note">none</p>'


def page(title: str, sections: Iterable[str]) -> str:
    body = "\n".join(sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>\n{body}\n</body></html>\n")
