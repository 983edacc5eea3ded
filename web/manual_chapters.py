"""The operator manual (web/manual/panduan, in Indonesian): its chapters, rendered once for the app's
help pages and once as one printable document (`sijosku manual`).

The manual is Markdown, one chapter per role, rendered with markdown-it-py. Screenshots come from
the end-to-end suite (web/manual/screenshots), so the manual shows the screens as they are.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import render_template
from markdown_it import MarkdownIt
from markupsafe import Markup
from PIL import Image

ROOT = Path(__file__).resolve().parent / "manual"  # package data: the manual ships in the wheel
MANUAL = ROOT / "panduan"
SCREENSHOTS = ROOT / "screenshots"
PHONE_WIDTH = 720  # a phone's 360 CSS px at twice the density


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


def _offer_lighter(token: Any, href: str) -> None:
    """A screenshot in the app is offered as WebP too, a quarter to a half of the PNG's bytes: 720 px
    wide for a phone's screen, full width for the rest (a phone on a weak line read the operator's
    chapter as 420 KB of PNG). Its size is given, so the page does not jump as it arrives."""
    shot = re.fullmatch(r"\.\./screenshots/([\w.-]+)\.png", href)
    size = screenshot_size(f"{shot.group(1)}.png") if shot else None
    if shot is None or size is None:
        return
    width, height = size
    lighter = f"/bantuan/gambar/{shot.group(1)}"
    narrow = f"{lighter}-{PHONE_WIDTH}.webp {PHONE_WIDTH}w, " if width > PHONE_WIDTH else ""
    token.attrSet("srcset", f"{narrow}{lighter}.webp {width}w")
    token.attrSet("sizes", "(max-width: 72rem) 100vw, 70rem")
    token.attrSet("width", str(width))
    token.attrSet("height", str(height))


def screenshot_size(name: str) -> tuple[int, int] | None:
    path = SCREENSHOTS / name
    return _size_of(path, path.stat().st_mtime) if path.is_file() else None


@lru_cache(maxsize=64)
def _size_of(path: Path, mtime: float) -> tuple[int, int]:
    with Image.open(path) as picture:
        return picture.size


def screenshot_webp(stem: str, width: int | None) -> bytes | None:
    """The screenshot `stem`.png as WebP, `width` px wide (never wider than it is), or None."""
    path = SCREENSHOTS / f"{stem}.png"
    return _webp_of(path, width, path.stat().st_mtime) if path.is_file() else None


@lru_cache(maxsize=64)  # every screenshot at both widths: each is encoded once per process
def _webp_of(path: Path, width: int | None, mtime: float) -> bytes:
    with Image.open(path) as picture:
        shown = picture.convert("RGB")
    if width and width < shown.width:
        shown = shown.resize((width, round(shown.height * width / shown.width)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    shown.save(out, "WEBP", quality=80)
    return out.getvalue()


def _renderer(_link: Any = _served) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("id", slugify(tokens[idx + 1].content))
        return str(renderer.renderToken(tokens, idx, options, env))

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("href", _link(str(tokens[idx].attrGet("href") or "")))
        return str(renderer.renderToken(tokens, idx, options, env))

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        href = str(tokens[idx].attrGet("src") or "")
        tokens[idx].attrSet("src", _link(href))
        if _link is _served:
            _offer_lighter(tokens[idx], href)
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
