"""The operator manual (web/manual/panduan, in Indonesian) served inside the app, and the help link of
every page: which chapter and section speak of the page the person is on.

The manual is Markdown, one chapter per role; it is rendered here with markdown-it-py, and the
same rendering makes the printable manual (`sijosku manual`). Screenshots come from the
end-to-end suite (web/manual/screenshots), so the manual shows the screens as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, render_template, send_from_directory, url_for
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup

bp = Blueprint("help", __name__, url_prefix="/bantuan")

ROOT = Path(__file__).resolve().parents[1] / "manual"  # package data: the manual ships in the wheel
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
# The section of the manual that speaks of each page, by the page's endpoint. Pages the
# verifiers share (the inbox, a task, the cycle, data quality) open the chapter of the viewer's tier.
PAGES: dict[str, tuple[str, str]] = {
    "home.index": ("index", "masuk-dan-beranda"),
    "auth.login": ("index", "masuk-dan-beranda"),
    "auth.password": ("index", "kata-sandi"),
    "notify.index": ("index", "pemberitahuan"),
    "notify.preferences": ("index", "pemberitahuan"),
    "desa.index": ("operator-desa", "pengajuan-desa"),
    "desa.submission": ("operator-desa", "mengisi-pengajuan"),
    "desa.new_item": ("operator-desa", "nik-kk-dan-kategori"),
    "desa.edit_item": ("operator-desa", "nik-kk-dan-kategori"),
    "desa.register_page": ("operator-desa", "verifikasi-ulang-register"),
    "desa.import_status": ("operator-desa", "impor-berkas"),
    "desa.import_problems": ("operator-desa", "impor-berkas"),
    "tasks.inbox_page": ("@tier", "kotak-tugas"),
    "tasks.task_page": ("@tier", "memeriksa-tugas"),
    "tasks.carry_verdicts": ("@tier", "memeriksa-tugas"),
    "desa.import_file": ("operator-desa", "impor-berkas"),
    "cycle.index": ("@tier", "siklus-dan-batas-waktu"),
    "quality.index": ("@tier", "mutu-data"),
    "quality.figures": ("@tier", "mutu-data"),
    "quality.series": ("@tier", "mutu-data"),
    "admin.index": ("admin", "definisi-proses"),
    "admin.editor": ("admin", "mengubah-proses-di-editor"),
    "admin.compare": ("admin", "membandingkan-versi"),
    "admin.migrate_page": ("admin", "memindahkan-instans"),
    "admin.migrate": ("admin", "memindahkan-instans"),
    "admin.stuck": ("admin", "instans-macet"),
    "admin.people": ("admin", "pengguna-dan-peran"),
    "admin.person": ("admin", "pengguna-dan-peran"),
    "admin.schedule": ("admin", "tugas-terjadwal"),
    "regions.index": ("admin", "perubahan-wilayah"),
    "regions.preview": ("admin", "perubahan-wilayah"),
    "regions.apply": ("admin", "perubahan-wilayah"),
    "admin.agency_tokens": ("admin", "token-api"),
    "audit.index": ("auditor", "mencari-jejak"),
    "audit.record": ("auditor", "riwayat-catatan"),
    "audit.instance": ("auditor", "riwayat-proses"),
    "audit.verify": ("auditor", "memeriksa-rantai-audit"),
    "audit.regions": ("auditor", "perubahan-wilayah"),
    "admin.create_person": ("admin", "pengguna-dan-peran"),
    "admin.import_people": ("admin", "pengguna-dan-peran"),
    "admin.create_token": ("admin", "token-api"),
    "reconciliation.index": ("walidata-forum-sdi", "walidata-provinsi"),
    "reconciliation.progress_page": ("walidata-forum-sdi", "walidata-provinsi"),
    "agency_figures.index": ("walidata-forum-sdi", "angka-instansi"),
    "agency_figures.preview": ("walidata-forum-sdi", "angka-instansi"),
    "agency_figures.save": ("walidata-forum-sdi", "angka-instansi"),
    "agency_figures.withdraw": ("walidata-forum-sdi", "angka-instansi"),
    "agency_figures.undo": ("walidata-forum-sdi", "angka-instansi"),
    "reconciliation.task_page": ("walidata-forum-sdi", "@role"),
    "reconciliation.determinations": ("walidata-forum-sdi", "kepala-dinas"),
    "reconciliation.determination_page": ("walidata-forum-sdi", "kepala-dinas"),
    "reconciliation.download": ("walidata-forum-sdi", "kepala-dinas"),
    "reconciliation.trail": ("auditor", "jejak-angka-resmi"),
}
TIER_CHAPTERS = {t: t for t in ("kecamatan", "kabupaten", "provinsi")}  # by `Tier` value
# The reconciliation's task page is each lane's own step: its section is the viewer's role's ("role:tier").
ROLE_SECTIONS = {
    "walidata:provinsi": "walidata-provinsi",
    "walidata:kabupaten": "walidata-kabupaten-kota",
    "forum_sdi:provinsi": "forum-sdi",
    "kepala_dinas:provinsi": "kepala-dinas",
}
# Short explanations beside form fields, linked to their section.
FIELDS = {
    "nik": ("operator-desa", "nik-kk-dan-kategori"),
    "no_kk": ("operator-desa", "nik-kk-dan-kategori"),
    "kategori": ("operator-desa", "nik-kk-dan-kategori"),
}
FIELD_WORDS = {
    "nik": _l(
        "NIK: Nomor Induk Kependudukan, 16 angka di KTP atau KK. Enam angka pertama adalah kode wilayah tempat "
        "NIK pertama terbit (bisa di luar Kalimantan Utara); angka 7-12 tanggal lahir, perempuan ditambah 40."
    ),
    "no_kk": _l("Nomor KK: 16 angka di kartu keluarga; satu nomor untuk satu rumah tangga."),
    "kategori": _l("Kategori PPKS/PSKS: pilih sesuai kriteria yang tampil; kriterianya sama di semua kabupaten."),
}


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


def target(endpoint: str | None, roles: Iterable[str]) -> tuple[str, str]:
    """The chapter and section of the manual for a page, as seen by a person of these roles ("role:tier")."""
    roles = list(roles)
    chapter, section = PAGES.get(endpoint or "", ("index", ""))
    if chapter == "@tier":
        tiers = [role.partition(":")[2] for role in roles]
        chapter = next((TIER_CHAPTERS[t] for t in tiers if t in TIER_CHAPTERS), "kecamatan")
    if section == "@role":
        section = next((ROLE_SECTIONS[r] for r in roles if r in ROLE_SECTIONS), "walidata-kabupaten-kota")
    return chapter, section


def help_url(endpoint: str | None, roles: Iterable[str]) -> str:
    chapter, section = target(endpoint, roles)
    return url_for("help.chapter", slug=chapter) + (f"#{section}" if section else "")


def field_help(name: str) -> dict[str, str] | None:
    """The short explanation of a form field and the link to its section, or None."""
    found = FIELDS.get(name)
    if found is None:
        return None
    return {"text": str(FIELD_WORDS[name]), "url": url_for("help.chapter", slug=found[0]) + f"#{found[1]}"}


@bp.get("/")
def index() -> Any:
    return chapter("index")


@bp.get("/<slug>")
def chapter(slug: str) -> Any:
    """A chapter of the manual; open to everyone, signed in or not (it holds no data)."""
    html = render_chapter(slug)
    if html is None:
        abort(404)
    title = next(c.title for c in CHAPTERS if c.slug == slug)
    return render_template("help.html", title=title, body=Markup(html), chapters=written(), slug=slug)  # noqa: S704 - rendered without raw HTML


@bp.get("/gambar/<path:name>")
def screenshot(name: str) -> Any:
    if not re.fullmatch(r"[\w.-]+\.png", name):
        abort(404)
    return send_from_directory(SCREENSHOTS, name)
