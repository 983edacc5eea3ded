"""The operator manual served inside the app (`web.manual_chapters`), and the help link of every
page: which chapter and section speak of the page the person is on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, abort, render_template, send_from_directory, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from web.manual_chapters import CHAPTERS, PHONE_WIDTH, SCREENSHOTS, render_chapter, screenshot_webp, written

bp = Blueprint("help", __name__, url_prefix="/bantuan")

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
    if re.fullmatch(r"[\w.-]+\.png", name):
        return send_from_directory(SCREENSHOTS, name)
    lighter = re.fullmatch(rf"([\w.-]+?)(-{PHONE_WIDTH})?\.webp", name)
    picture = screenshot_webp(lighter.group(1), PHONE_WIDTH if lighter.group(2) else None) if lighter else None
    if picture is None:
        abort(404)
    response = Response(picture, mimetype="image/webp")
    response.cache_control.public, response.cache_control.max_age = True, 86400
    return response
