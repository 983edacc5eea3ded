"""The operator manual (web/manual/panduan, in Indonesian): its chapters, rendered once for the app's
help pages and once as one printable document (`sijosku manual`).

The manual is Markdown, one chapter per role, rendered with markdown-it-py. Screenshots come from
the end-to-end suite (web/manual/screenshots), so the manual shows the screens as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import render_template
from markdown_it import MarkdownIt
from markupsafe import Markup

ROOT = Path(__file__).resolve().parent / "manual"  # package data: the manual ships in the wheel
MANUAL = ROOT / "panduan"
SCREENSHOTS = ROOT / "screenshots"


@dataclass(frozen=True)
class Chapter:
    slug: str
    title: str


CHAPTERS = (
    Chapter("index", "Panduan SIJOSKU"),
    Chapter("operator-desa", "Operator desa/kelurahan"),
    Chapter("kecamatan", "Verifikator kecamatan"),
    Chapter("kabupaten", "Verifikator kabupaten/kota"),
    Chapter("provinsi", "Validator provinsi"),
    Chapter("walidata-forum-sdi", "Walidata dan Forum SDI"),
    Chapter("admin", "Admin"),
    Chapter("auditor", "Auditor"),
)


def slugify(text: str) -> str:
    """A heading's anchor: lower case, letters and digits joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _served(href: str) -> str:
    """Links between chapters and to screenshots, as the app serves them."""
    chapter = re.fullmatch(r"([a-z0-9-]+)\.md(#.*)?", href)
    if chapter:
        return f"/bantuan/{chapter.group(1)}{chapter.group(2) or ''}"
    shot = re.fullmatch(r"\.\./screenshots/([\w.-]+\.png)", href)
    return f"/bantuan/gambar/{shot.group(1)}" if shot else href


def _printed(href: str) -> str:
    """Links in the printed manual: a chapter is a part of the one document; screenshots are files."""
    chapter = re.fullmatch(r"([a-z0-9-]+)\.md(#.*)?", href)
    if chapter:
        return f"#bab-{chapter.group(1)}"
    shot = re.fullmatch(r"\.\./screenshots/([\w.-]+\.png)", href)
    return (SCREENSHOTS / shot.group(1)).as_uri() if shot else href


def _renderer(_link: Any = _served) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("id", slugify(tokens[idx + 1].content))
        return str(renderer.renderToken(tokens, idx, options, env))

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("href", _link(str(tokens[idx].attrGet("href") or "")))
        return str(renderer.renderToken(tokens, idx, options, env))

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("src", _link(str(tokens[idx].attrGet("src") or "")))
        tokens[idx].attrSet("loading", "lazy")
        return str(renderer.image(tokens, idx, options, env))

    def table_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        # a wide table scrolls sideways on a phone: its box takes the keyboard's focus, so that the
        # arrow keys reach the columns out of view, and is named apart from the chapter's others
        env["tables"] = env.get("tables", 0) + 1
        label = f"Tabel {env['tables']}, dapat digeser ke samping"
        wrap = f'<div class="table-wrap" tabindex="0" role="region" aria-label="{label}">'
        return wrap + str(renderer.renderToken(tokens, idx, options, env))

    def table_close(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return str(renderer.renderToken(tokens, idx, options, env)) + "</div>"

    md.add_render_rule("table_open", table_open)
    md.add_render_rule("table_close", table_close)
    md.add_render_rule("heading_open", heading_open)
    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md


_md = _renderer()


def written() -> list[Chapter]:
    """The chapters present (one is written separately and may come later)."""
    return [c for c in CHAPTERS if (MANUAL / f"{c.slug}.md").is_file()]


def printable() -> str:
    """The whole manual as one HTML document for printing (`sijosku manual`)."""
    md, env = _renderer(_printed), dict[str, Any]()  # one count of tables through the document: each named apart
    parts = [
        f'<section id="bab-{c.slug}" class="bab">{md.render(chapter_source(c.slug) or "", env)}</section>'
        for c in written()
    ]
    return render_template("help_print.html", parts=Markup("\n".join(parts)))  # noqa: S704 - no raw HTML in the source


def chapter_source(slug: str) -> str | None:
    path = MANUAL / f"{slug}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


@lru_cache(maxsize=32)
def _rendered(slug: str, mtime: float) -> str:
    return _md.render(chapter_source(slug) or "")


def render_chapter(slug: str) -> str | None:
    path = MANUAL / f"{slug}.md"
    if slug not in {c.slug for c in CHAPTERS} or not path.is_file():
        return None
    return _rendered(slug, path.stat().st_mtime)


def anchors(html: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', html))
