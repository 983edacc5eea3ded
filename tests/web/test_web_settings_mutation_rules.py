"""The settings every page of SIJOSKU keeps, whoever opens it: the browser is told to load nothing from
elsewhere and to keep to HTTPS for a year; a form left open a working day is still taken, and one sent
from another site is refused behind an HTTPS proxy; an upload is taken up to 20 MB; a page or a
sign-in that lost a race at the database is run again, and one that keeps losing says the data
changed; a refusal for too many attempts says so in its title; a browser gets pages and a script
problem documents; words are shown in each request's own language and a person's words are escaped
on a page; a manual's screenshot stays cacheable; and the reconciliation's forms read each field
within its bound."""

from __future__ import annotations

import dataclasses

import flask_wtf.csrf
import pytest
from flask import abort, render_template_string, session
from werkzeug.datastructures import MultiDict

from engine.core.errors import Invalid
from engine.people import sign_in
from engine.verification import gauges, trail
from engine.verification.agency_figures import CARRIED_CHARS
from tests.factories import PASSWORD, person_row
from tests.web.conftest import Browser
from tests.web.test_outages import _lost_race
from tests.web.test_web_layer_rules import HOUR, _later
from web import i18n
from web.app import create_app
from web.forms import parse
from web.reconciliation_forms import AgencyFiguresForm, AgencyListForm, HeadDecisionForm

POLICY = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
}


def test_every_page_loads_and_sends_only_to_sijosku_itself(browser):
    """Scripts, styles, images and fonts come from SIJOSKU (images and fonts may be inline), forms are
    sent only to it, and no page may set another base address or be framed."""
    policy = browser.get("/masuk").headers["Content-Security-Policy"]
    assert {part.strip() for part in policy.split(";")} == POLICY


def test_over_https_a_browser_is_told_to_keep_to_https_for_a_year_on_every_subdomain(db, people):
    secure = create_app(dataclasses.replace(db.settings, https=True), db, testing=True)
    told = secure.test_client().get("/masuk").headers["Strict-Transport-Security"]
    assert told == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("hops", "over_https"),
    [
        (1, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.1.1"}),
        (2, {"X-Forwarded-Proto": "https, http", "X-Forwarded-For": "203.0.113.9, 10.0.0.2"}),
    ],
    ids=["one proxy", "the outer of two taking https"],
)
def test_behind_an_https_proxy_a_form_sent_from_another_site_is_refused(db, people, hops, over_https):
    """Behind the configured proxies the request is HTTPS as the outer one says (the inner one is reached
    over plain HTTP): a form must then come from a page of SIJOSKU itself, not from another site."""
    proxied = create_app(dataclasses.replace(db.settings, proxy_hops=hops), db, testing=True)
    browser = Browser(proxied.test_client())
    form = {"username": "verif.kab", "password": PASSWORD, "csrf_token": browser.token()}
    refused = browser.client.post("/masuk", data=form, headers={**over_https, "Referer": "https://evil.example/masuk"})
    assert refused.status_code == 400 and "Formulir kedaluwarsa" in refused.get_data(as_text=True)
    signed = browser.client.post("/masuk", data=form, headers={**over_https, "Referer": "https://localhost/masuk"})
    assert signed.status_code == 302


def test_a_file_under_20_mb_reaches_the_pages_own_rule_not_the_upload_limit(signed_in, world):
    """A 19 MB minutes file is taken in and refused by the minutes' own 10 MB rule, on the submission's page."""
    operator = signed_in("op.desa")
    page = f"/desa/pengajuan/{world.draft}"
    part = f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{operator.token(page)}\r\n'
    part += '--b\r\nContent-Disposition: form-data; name="berkas"; filename="berita-acara.pdf"\r\n\r\n'
    body = part.encode() + b"%PDF-1.4\n" + b"x" * (19 * 1024 * 1024) + b"\r\n--b--\r\n"
    form = "multipart/form-data; boundary=b"
    with operator.client.post(f"{page}/berita-acara", data=body, content_type=form) as sent:
        assert sent.status_code == 302
    assert "paling besar 10 MB" in operator.get(page).get_data(as_text=True)


def test_a_page_or_a_sign_in_that_lost_a_race_at_the_database_is_run_again(browser, people, monkeypatch):
    """The monitoring page's figures, and then a sign-in, each lose a race once: each is run again and answers."""
    tries: list[str] = []

    def lost_once(real):  # type: ignore[no-untyped-def]
        def run(*args):  # type: ignore[no-untyped-def]
            tries.append(real.__name__)
            if tries.count(real.__name__) == 1:
                raise _lost_race()
            return real(*args)

        return run

    monkeypatch.setattr(gauges, "read", lost_once(gauges.read))
    monkeypatch.setattr(sign_in, "authenticate", lost_once(sign_in.authenticate))
    scraped = browser.get("/metrics")
    assert scraped.status_code == 200 and "sijosku_open_tasks" in scraped.get_data(as_text=True)
    assert browser.login("verif.kab").status_code == 302
    assert tries == ["read", "read", "authenticate", "authenticate"]


def test_a_page_that_keeps_losing_the_race_says_under_its_title_that_the_data_changed(browser, monkeypatch):
    def always_lost(_session: object) -> None:
        raise _lost_race()

    monkeypatch.setattr(gauges, "read", always_lost)
    page = browser.get("/metrics")
    assert page.status_code == 409 and "<h1>Sudah berubah</h1>" in page.get_data(as_text=True)


def test_a_form_left_open_just_under_eight_hours_is_still_taken(browser, people, monkeypatch):
    form = {"username": "verif.kab", "password": PASSWORD, "csrf_token": browser.token()}
    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", _later(8 * HOUR - 60))
    assert browser.client.post("/masuk", data=form).status_code == 302


def test_too_many_searches_by_nik_are_refused_under_the_title_too_many_attempts(browser, people, monkeypatch):
    monkeypatch.setattr(trail, "NIK_SEARCHES_PER_HOUR", 0)
    browser.login("auditor.prov")
    refused = browser.post("/audit/", {"nik": person_row(7)["nik"]}, token_from="/audit/")
    assert refused.status_code == 429 and "<h1>Terlalu banyak percobaan</h1>" in refused.get_data(as_text=True)


def test_a_failure_told_to_a_script_is_a_problem_document_carrying_the_pages_message(app, browser):
    @app.get("/_uji_rusak_skrip")
    def broken() -> str:
        raise RuntimeError("rusak")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = browser.get("/_uji_rusak_skrip", headers={"Accept": "application/json"}).get_json()
    assert (body["type"], body["status"], body["ok"]) == ("about:blank", 500, False)
    assert body["message"] == body["detail"] and "Terjadi kesalahan di server SIJOSKU" in body["message"]


def test_words_from_data_follow_each_requests_own_language(app):
    """One page in Indonesian, the next in English: each shows the status and role words in its own language."""
    for language, words in (("id", ["terverifikasi", "verifikator"]), ("en", ["verified", "verifier"])):
        with app.test_request_context("/"):
            session["lang"] = language
            assert [i18n.status_label("terverifikasi"), i18n.role_label("verifier")] == words, language


def test_a_count_in_a_sentence_is_the_count_given(app):
    """`ngettext` puts the number it chose the form by into the sentence: three tasks read "3 tugas"."""
    with app.test_request_context("/"):
        said = render_template_string("{{ ngettext('%(num)d tugas', '%(num)d tugas', n) }}", n=3)
    assert said == "3 tugas"


def test_a_catalog_that_fails_to_compile_leaves_nothing_half_written_beside_it(tmp_path, monkeypatch):
    source = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    source.parent.mkdir(parents=True)
    source.write_text('msgid "Masuk"\nmsgstr "Sign in"\n', encoding="utf-8")

    def disk_full(*_args: object) -> None:
        raise OSError("disk penuh")

    monkeypatch.setattr(i18n, "write_mo", disk_full)
    with pytest.raises(OSError, match="disk penuh"):
        i18n.compile_catalogs(tmp_path)
    assert sorted(p.name for p in source.parent.iterdir()) == ["messages.po"]


def test_a_persons_words_set_into_a_sentence_are_text_on_a_page_and_kept_as_typed_in_a_mail(app):
    """A name or reason put into a translated sentence is escaped on a page, never markup; a plain-text
    mail keeps it as typed."""
    typed = '<b>Siti & "Ani"</b>'
    with app.test_request_context("/"):
        page = render_template_string("{{ _('Catatan %(nama)s', nama=nama) }}", nama=typed)
        mail = render_template_string(
            "{% autoescape false %}{{ _('Catatan %(nama)s', nama=nama) }}{% endautoescape %}", nama=typed
        )
    assert page == "Catatan &lt;b&gt;Siti &amp; &#34;Ani&#34;&lt;/b&gt;"
    assert mail == f"Catatan {typed}"


def test_an_agencys_carried_figures_are_read_whole_up_to_their_bound_and_refused_past_it():
    assert parse(AgencyFiguresForm, MultiDict({"baris": "7" * CARRIED_CHARS}))["baris"] == "7" * CARRIED_CHARS
    with pytest.raises(Invalid) as refused:
        parse(AgencyFiguresForm, MultiDict({"baris": "7" * (CARRIED_CHARS + 1)}))
    assert [p.column for p in refused.value.problems] == ["baris"]


@pytest.mark.parametrize(
    ("form", "sent", "field"),
    [
        (HeadDecisionForm, {"keputusan": "tolak"}, "keputusan"),
        (AgencyListForm, {"halaman": "0"}, "halaman"),
        (AgencyListForm, {"halaman": "100001"}, "halaman"),
    ],
)
def test_the_heads_decision_is_approve_or_return_and_an_agencys_list_page_is_within_its_range(form, sent, field):
    with pytest.raises(Invalid) as refused:
        parse(form, MultiDict(sent))
    assert [p.column for p in refused.value.problems] == [field]
    assert parse(HeadDecisionForm, MultiDict({"keputusan": "kembalikan"}))["keputusan"] == "kembalikan"
    assert parse(AgencyListForm, MultiDict({"halaman": "100000"}))["halaman"] == 100_000


def test_a_help_screenshot_stays_cacheable_for_a_day_for_a_signed_in_person(signed_in, people):
    """A screenshot of the manual holds nobody's data: unlike a signed-in page, caches may keep it a day."""
    with signed_in("op.desa").get("/bantuan/gambar/operator-pengajuan-720.webp") as picture:
        kept = picture.headers["Cache-Control"]
    assert picture.status_code == 200 and "max-age=86400" in kept and "no-store" not in kept


def test_a_browser_accepting_anything_gets_the_refusal_as_a_page_not_as_json(signed_in, people):
    """A browser's usual Accept header ends in `*/*`: it still gets SIJOSKU's page, as a person reads it."""
    browser_accepts = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    missing = signed_in("verif.kab").get("/halaman-yang-tidak-ada", headers={"Accept": browser_accepts})
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "Halaman atau data ini tidak ada di wilayah Anda." in missing.get_data(as_text=True)


def test_an_api_address_refused_before_any_resource_reads_it_is_still_a_problem_document(api, db):
    """A NUL character in the query of the API's own pages (its documentation, an unknown address) is refused
    as the API refuses everything: a problem document, not a page's JSON."""
    for path in ("/api/v1/docs", "/api/v1/tidak-ada"):
        refused = api("GET", path, query_string={"q": "a\x00b"})
        assert refused.status_code == 400 and refused.content_type == "application/problem+json", path
        assert refused.get_json()["status"] == 400 and "karakter NUL" in refused.get_json()["detail"], path


def test_any_refusal_of_an_api_address_outside_its_resources_is_a_problem_document(app, api, db):
    app.add_url_rule("/api/v1/_uji_ditolak", "uji_ditolak", lambda: abort(400))
    refused = api("GET", "/api/v1/_uji_ditolak")
    assert refused.status_code == 400 and refused.content_type == "application/problem+json"
    assert refused.get_json()["status"] == 400
