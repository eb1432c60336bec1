"""Small HTML building blocks: escaped text, tables, base64-embedded PNGs, key-value lists."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { border-bottom: 2px solid #345; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #eef; } td:first-child, th:first-child { text-align: left; }
figure { display: inline-block; margin: 0.5rem; vertical-align: top; }
figure img { max-width: 32rem; border: 1px solid #ddd; }
figcaption { font-size: 0.8rem; color: #555; }
.note { color: #666; font-style: italic; }
"""


def esc(text: Any) -> str:
    return html.escape(str(text))


def number(value: Any) -> str:
    """Format a number for a table cell: 4 significant digits, scientific for tiny values."""
    if isinstance(value, float):
        return f"{value:.3g}" if value != 0 and abs(value) < 1e-3 else f"{value:.4g}"
    return esc(value)


def table(df: pd.DataFrame, caption: str = "") -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{number(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def key_values(items: Mapping[str, Any]) -> str:
    """A two-column table of ``items``; each value is formatted and escaped once, by ``table``."""
    return table(pd.DataFrame({"item": list(items), "value": pd.Series(list(items.values()), dtype=object)}))


def image(path: Path, caption: str | None = None) -> str:
    """A PNG embedded as a data URI, so the report needs no other file."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    cap = esc(caption or Path(path).stem.replace("_", " "))
    return (f'<figure><img alt="{cap}" src="data:image/png;base64,{data}">'
            f"<figcaption>{cap}</figcaption></figure>")


def images(paths: Iterable[Path]) -> str:
    return "".join(image(p) for p in paths)


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, sections: list[tuple[str, str, str]]) -> str:
    """A whole HTML document: a table of contents then each (anchor, title, body) section."""
    toc = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t, _ in sections)
    body = "".join(section(a, t, b) for a, t, b in sections)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1><ul>{toc}</ul>{body}</body></html>")
