"""The manual inside the app: every page links to its section, the section exists, the chapters'
own links resolve, form fields carry their explanation, screenshots come lighter to phones, and the
manual prints to PDF."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from PIL import Image

from web import manual_chapters as chapters
from web.views import help as manual

# Endpoints that answer with something other than a page a person reads (files, XML, JSON, redirects).
NOT_PAGES = {
    "static",
    "assets.vendor",
    "health.healthz",
    "health.readyz",
    "health.metrics",
    "home.definition_xml",
    "admin.xml",
    "admin.regions",
    "audit.export",
    "desa.template_for",
    "desa.minutes_file",
    "help.index",
    "help.chapter",
    "help.screenshot",
}
ROLES_SEEN = [[role] for role in manual.ROLE_SECTIONS]  # the reconciliation's lanes
_LINK = re.compile(r'<a class="help-link" id="bantuan" href="([^"]+)"')


def _page_endpoints(app) -> set[str]:
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and not rule.rule.startswith("/api") and rule.endpoint not in NOT_PAGES
    }


def test_every_page_has_a_section_of_the_manual_and_the_section_exists(app):
    endpoints = _page_endpoints(app)
    missing = sorted(endpoints - manual.PAGES.keys())
    assert not missing, f"pages without a help section: {missing}"
    stale = sorted(k for k in manual.PAGES if k not in {r.endpoint for r in app.url_map.iter_rules()})
    assert not stale, f"help sections of pages that do not exist: {stale}"
    with app.test_request_context("/"):
        for endpoint in manual.PAGES:
            for roles in (*([f"verifier:{t}"] for t in ("kecamatan", "kabupaten", "provinsi")), *ROLES_SEEN, []):
                chapter, section = manual.target(endpoint, roles)
                html = chapters.render_chapter(chapter)
                assert html is not None, (endpoint, chapter)
                assert not section or section in chapters.anchors(html), (endpoint, chapter, section)


@pytest.mark.parametrize(
    ("role", "section"),
    [
        ("walidata:kabupaten", "walidata-kabupaten-kota"),
        ("walidata:provinsi", "walidata-provinsi"),
        ("forum_sdi:provinsi", "forum-sdi"),
        ("kepala_dinas:provinsi", "kepala-dinas"),
    ],
)
def test_a_reconciliation_task_opens_the_section_of_its_lane(role, section):
    assert manual.target("reconciliation.task_page", [role]) == ("walidata-forum-sdi", section)


@pytest.mark.parametrize(
    ("username", "path", "chapter"),
    [
        ("op.desa", "/desa/", "operator-desa"),
        ("verif.kec", "/tugas/", "kecamatan"),
        ("verif.kab", "/tugas/", "kabupaten"),
        ("valid.prov", "/tugas/", "provinsi"),
        ("admin.prov", "/admin/", "admin"),
        ("admin.prov", "/admin/macet", "admin"),
        ("auditor.prov", "/audit/", "auditor"),
        (None, "/masuk", "index"),
    ],
)
def test_the_help_link_of_a_page_opens_its_section(app, signed_in, browser, people, username, path, chapter):
    person = signed_in(username) if username else browser
    page = person.get(path)
    assert page.status_code == 200, path
    href = _LINK.search(page.get_data(as_text=True))
    assert href, f"no help link on {path}"
    url, _, section = href.group(1).partition("#")
    assert url == f"/bantuan/{chapter}"
    opened = person.get(url)
    assert opened.status_code == 200
    assert f'id="{section}"' in opened.get_data(as_text=True)


def test_links_inside_the_manual_resolve(app, browser):
    declared = {c.slug for c in chapters.CHAPTERS}
    for chapter in chapters.written():
        html = browser.get(f"/bantuan/{chapter.slug}").get_data(as_text=True)
        for target in re.findall(r'href="(/bantuan/[^"]+)"', html):
            url, _, section = target.partition("#")
            slug = url.removeprefix("/bantuan/")
            if slug.startswith("gambar/"):
                continue  # screenshots are taken by the end-to-end suite (make screenshots)
            assert slug in declared, target
            found = browser.get(url)
            if found.status_code == 404:
                assert slug == "walidata-forum-sdi", target  # the only chapter written separately
                continue
            assert not section or f'id="{section}"' in found.get_data(as_text=True), target
    assert browser.get("/bantuan/tidak-ada").status_code == 404
    assert browser.get("/bantuan/gambar/..%2Fpanduan%2Findex.md").status_code == 404


def test_nik_kk_and_category_carry_their_explanation(app):
    with app.test_request_context("/"):
        template = app.jinja_env.from_string(
            "{% from 'macros.html' import field, category_select %}{{ field('nik', 'NIK') }}"
            "{{ field('no_kk', 'KK') }}{{ category_select([], 'k') }}"
        )
        html = template.render()
    assert "Nomor Induk Kependudukan" in html and "kartu keluarga" in html and "Kategori PPKS/PSKS" in html
    assert html.count('href="/bantuan/operator-desa#nik-kk-dan-kategori"') == 3


def test_the_manual_prints_to_a_pdf_with_every_chapter(app, tmp_path):
    if shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs it (make browser)")
    with app.test_request_context("/"):
        html = chapters.printable()
    for chapter in chapters.written():
        assert f'id="bab-{chapter.slug}"' in html
    named = re.findall(r'aria-label="(Tabel \d+), dapat digeser', html)
    assert len(named) > 1 and len(set(named)) == len(named)  # each table of the printed whole named apart
    page = tmp_path / "panduan.html"
    page.write_text(html, encoding="utf-8")
    from web.cli.manual import _print_pdf

    pdf = tmp_path / "panduan.pdf"
    _print_pdf(page, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= len(chapters.written())


def test_each_screenshot_is_offered_as_lighter_webp_at_a_phones_width_and_its_own(browser):
    html = browser.get("/bantuan/operator-desa").get_data(as_text=True)
    shown = re.search(r'<img src="/bantuan/gambar/operator-pengajuan\.png"[^>]*>', html)
    assert shown, "the chapter shows its first screenshot"
    assert 'width="1280" height="1697"' in shown.group(0)  # the page keeps its place as it arrives
    offered = dict(re.findall(r"(\S+) (\d+)w", re.search(r'srcset="([^"]+)"', shown.group(0)).group(1)))
    assert offered == {
        "/bantuan/gambar/operator-pengajuan-720.webp": "720",
        "/bantuan/gambar/operator-pengajuan.webp": "1280",
    }
    with browser.get("/bantuan/gambar/operator-pengajuan.png") as original:  # a file: closed after reading
        png = original.get_data()
    for address, width in offered.items():
        answer = browser.get(address)
        assert answer.status_code == 200 and answer.mimetype == "image/webp"
        picture = Image.open(io.BytesIO(answer.get_data()))
        assert picture.format == "WEBP" and picture.width == int(width)
        assert len(answer.get_data()) < len(png) / 2
    # a phone's own screenshot is narrower than a phone's width: offered at its own only
    phone = chapters._renderer().render("![Tugas di ponsel](../screenshots/halaman-tugas-ponsel.png)")
    assert 'srcset="/bantuan/gambar/halaman-tugas-ponsel.webp 360w"' in phone
    for unknown in ("tidak-ada.webp", "operator-pengajuan-640.webp", "..%2Fpanduan%2Findex.webp", "x.webp.png"):
        assert browser.get(f"/bantuan/gambar/{unknown}").status_code == 404, unknown
