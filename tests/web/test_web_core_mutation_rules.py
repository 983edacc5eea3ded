"""The rules every page of SIJOSKU shares, for every person who opens one: the reconciliation's forms
read within their bounds, a way back that stays on this site, ids in addresses that are ids, refusals
told with where they are and in the page's language, words from data shown as people know them, the
figures a monitoring system scrapes, static files kept by browsers only under their content's name,
and the headers that keep a signed-in page off shared caches."""

from __future__ import annotations

import io
import os
import re

import pytest
from flask import get_flashed_messages, session, url_for
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from engine.core import clock
from engine.core.errors import Invalid, NotFound, Problem
from engine.verification.agency_figures import KEY_CHARS
from engine.verification.gauges import Gauges
from engine.verification.reconciliation import NOTE_LIMIT
from models import AuditEvent, Notification, User
from models.db import READ_ONLY_OPTION
from notifications import inapp
from tests.web.test_operator_pages import DEADLINE
from tests.web.test_outages import _lost_race
from web import app as web_app
from web import errors, i18n
from web.access import local_target, reading, referring_path, uploaded
from web.forms import parse
from web.metrics import DatabaseCollector
from web.reconciliation_forms import (
    FORUM_LIMIT,
    AgencyFiguresForm,
    AgencyListForm,
    AgencyUndoForm,
    AgencyWithdrawForm,
    HeadDecisionForm,
    ReconciliationOpenForm,
    RegencyReviewForm,
    RevisionForm,
    forum_verdicts,
)
from web.static_versions import A_YEAR, content_version

BOUNDS = {
    ReconciliationOpenForm: {"tahun": 4},
    RegencyReviewForm: {"catatan": 2000},
    HeadDecisionForm: {"alasan": 2000, "nomor_sk": 100, "tanggal_sk": 10},
    AgencyFiguresForm: {"instansi": 80, "kunci": KEY_CHARS, "nama_berkas": 255, "sha256": 64},
    AgencyWithdrawForm: {"instansi": 80, "alasan": 500, "dilihat": 16},
    AgencyUndoForm: {"alasan": 500},
    AgencyListForm: {"lihat": 80},
}


@pytest.mark.parametrize(
    ("form", "field", "limit"),
    [(form, field, limit) for form, fields in BOUNDS.items() for field, limit in fields.items()],
)
def test_a_reconciliation_forms_text_is_read_up_to_its_bound_and_refused_beside_its_field_past_it(form, field, limit):
    """Each text of the reconciliation's and the agencies' forms is taken whole up to its bound; one
    character more is refused beside that field, never cut."""
    sent = {"unggahan": "1"} if form is AgencyUndoForm else {}
    assert parse(form, MultiDict({**sent, field: "7" * limit}))[field] == "7" * limit
    with pytest.raises(Invalid) as refused:
        parse(form, MultiDict({**sent, field: "7" * (limit + 1)}))
    assert [p.column for p in refused.value.problems] == [field]


def test_the_reconciliation_forms_defaults_when_a_field_is_not_sent():
    """Unsent, a year is opened without forcing, the head has decided nothing, the latest revision is shown, a
    list starts at page 1; an agency's figures keep their spaces as the preview carried them."""
    assert parse(ReconciliationOpenForm, MultiDict({"tahun": "2026"}))["paksa"] is False
    assert parse(ReconciliationOpenForm, MultiDict({"tahun": "2026", "paksa": "y"}))["paksa"] is True
    assert parse(HeadDecisionForm, MultiDict())["keputusan"] == ""
    assert parse(RevisionForm, MultiDict())["revisi"] is None
    assert parse(RevisionForm, MultiDict({"revisi": "0"}))["revisi"] == 0
    assert parse(AgencyListForm, MultiDict())["halaman"] == 1
    assert parse(AgencyFiguresForm, MultiDict({"baris": " 12 ,3\n"}))["baris"] == " 12 ,3\n"
    with pytest.raises(Invalid) as refused:
        parse(AgencyUndoForm, MultiDict({"alasan": "salah berkas"}))
    assert [p.column for p in refused.value.problems] == ["unggahan"]


def test_the_forum_reads_each_discrepancys_verdict_and_reason_within_their_bounds():
    """A verdict per ASCII id with its reason (empty when none was written); a verdict is read to 20
    characters, a reason to twice the rule's limit so that one too long is refused, not cut."""
    form = MultiDict(
        {
            "putusan_7": "terima",
            "putusan_8": "kembalikan" * 3,
            "alasan_8": "x" * (3 * NOTE_LIMIT),
            "putusan_²": "terima",
            "putusan_": "terima",
            "alasan_7x": "lain",
        }
    )
    assert forum_verdicts(form) == {7: ("terima", ""), 8: (("kembalikan" * 3)[:20], "x" * (2 * NOTE_LIMIT))}


def test_the_forum_reads_a_whole_form_of_its_limit_but_no_more_keys_than_that():
    """A Forum form of 500 discrepancies, each with its reason, is read whole; keys far past that are not read."""
    full = MultiDict()
    for flag in range(1, FORUM_LIMIT + 1):
        full.add(f"putusan_{flag}", "terima")
        full.add(f"alasan_{flag}", "cocok")
    assert len(forum_verdicts(full)) == FORUM_LIMIT
    padded = MultiDict([(f"lain_{n}", "") for n in range(2 * FORUM_LIMIT + 10)] + [("putusan_1", "terima")])
    assert forum_verdicts(padded) == {}


@pytest.mark.parametrize(
    "target",
    ["/\\evil.example", "/\tevil", "/tugas/\n", "///evil.example", "//evil.example", "tugas/", "https://evil.example/"],
)
def test_a_way_back_that_could_lead_off_this_site_goes_to_the_home_page(app, target):
    with app.test_request_context("/"):
        assert local_target(target) == url_for("home.index")
        assert local_target(None, "auth.login", next="/tugas/") == "/masuk?next=/tugas/"


def test_a_way_back_on_this_site_is_kept_with_its_query(app):
    with app.test_request_context("/"):
        assert local_target("/tugas/?halaman=2&urut=terbaru") == "/tugas/?halaman=2&urut=terbaru"


@pytest.mark.parametrize(
    ("referrer", "path"),
    [
        ("http://localhost/desa/pengajuan/5?halaman=2", "/desa/pengajuan/5?halaman=2"),
        ("http://localhost/desa/pengajuan/5", "/desa/pengajuan/5"),
        ("http://evil.example/desa/pengajuan/5", ""),
        ("", ""),
    ],
)
def test_the_page_a_request_came_from_counts_only_when_it_is_a_page_of_this_site(app, referrer, path):
    with app.test_request_context("/", headers={"Referer": referrer} if referrer else {}):
        assert referring_path() == path


def test_a_person_asked_to_sign_in_is_brought_back_to_a_plain_page_without_a_stray_question_mark(browser, people):
    assert browser.get("/tugas/").headers["Location"] == "/masuk?next=/tugas/"


def test_a_form_sent_after_the_session_ended_signs_in_and_returns_to_the_page_the_form_was_on(browser, people):
    """The form's own address takes posts only: the way back is the page it was on, on this site only."""
    for referrer, location in (
        ("http://localhost/desa/pengajuan/5?halaman=2", "/masuk?next=/desa/pengajuan/5?halaman%3D2"),
        ("http://evil.example/desa/pengajuan/5", "/masuk"),
    ):
        sent = browser.client.post("/tugas/klaim", data={"task_id": "1"}, headers={"Referer": referrer})
        assert sent.status_code == 302 and sent.headers["Location"] == location, referrer


def test_an_id_in_an_address_is_at_most_ten_ascii_digits_within_the_columns_range(signed_in, world):
    """`/tugas/00000000001` (eleven digits) and `/tugas/2147483648` are no task at all: a 404, never a
    database error and never task 1."""
    kab = signed_in("verif.kab")
    assert kab.get(f"/tugas/{world.kab_task}").status_code == 200
    for odd in (f"{world.kab_task:011d}", "2147483648", "9999999999"):
        assert kab.get(f"/tugas/{odd}").status_code == 404, odd


def test_a_requests_reads_share_one_session_that_takes_no_write_lock(app, db):
    with app.test_request_context("/"):
        with reading() as first, reading() as second:
            assert first is second
            assert first.connection().get_execution_options().get(READ_ONLY_OPTION) is True


def test_a_refusal_without_problems_is_shown_by_its_summary_and_one_with_problems_by_its_first(app):
    with app.test_request_context("/"):
        assert errors.field_problems(Invalid("Berkas kosong", [])) == {"": "Berkas kosong"}
        found = errors.field_problems(Invalid("Isian belum benar", [Problem("wajib diisi", column="nik")]))
        assert found == {"nik": "wajib diisi"}
        errors.flash_refusal(Invalid("Berkas kosong", []))
        errors.flash_refusal(Invalid("Isian belum benar", [Problem("satu"), Problem("dua")]))
        errors.flash_refusal(NotFound("Tugas 5 tidak ada\nrincian untuk log"))
        assert get_flashed_messages(with_categories=True) == [
            ("error", "Berkas kosong"),
            ("error", "Isian belum benar: satu"),
            ("error", "Tugas 5 tidak ada"),
        ]


def test_a_refusal_names_its_first_20_problems_each_with_where_it_is(app):
    with app.test_request_context("/"):
        many = Invalid("Berkas belum benar", [Problem(f"salah {n}", row=n + 2, column="nik") for n in range(25)])
        texts = errors.problem_texts(many)
        assert len(texts) == 20 and texts[0] == "baris 2, kolom nik: salah 0"
        assert errors.problem_texts(NotFound("tidak ada")) == []
        said = [
            errors.said_problem(p)
            for p in (
                Problem("wajib diisi", column="nomor_sk"),
                Problem("kosong", row=3, column=""),
                Problem("ganda", row=4, column="nomor_sk"),
                Problem("tanpa tempat"),
                Problem("tidak terhubung", element="Task_1"),
            )
        ]
        assert said == [
            "Nomor SK: wajib diisi",
            "baris 3: kosong",
            "baris 4, kolom nomor_sk: ganda",
            "tanpa tempat",
            "elemen Task_1: tidak terhubung",
        ]


def test_a_refusals_problems_reach_an_english_page_in_english(app):
    with app.test_request_context("/"):
        session["lang"] = "en"
        problem = Problem("Tugas 999999 tidak ada di kotak tugas Anda", column="task_id")
        assert errors.problem_dicts([problem]) == [{"message": "Task 999999 is not in your inbox", "column": "task_id"}]
        assert i18n.said("Tugas 999999 tidak ada di kotak tugas Anda") == "Task 999999 is not in your inbox"


def test_a_script_asking_for_a_refusal_gets_it_as_json_with_its_problems(signed_in, world):
    """A page's script that asks for JSON gets the refusal as JSON, its problems beside it, not a page."""
    kab = signed_in("verif.kab")
    missing = kab.get("/tugas/999999", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.get_json()["ok"] is False
    assert missing.get_json()["message"] == "Tugas 999999 tidak ada di kotak tugas Anda"
    refused = kab.get("/tugas/?halaman=0", headers={"Accept": "application/json"})
    assert refused.status_code == 400 and [p["column"] for p in refused.get_json()["problems"]] == ["halaman"]
    page = kab.get("/tugas/?halaman=0").get_data(as_text=True)
    assert "Data belum benar" in page and "Halaman: Harus bilangan bulat 1 sampai 100000" in page


def test_an_unexpected_failure_is_not_told_to_come_back_in_30_seconds(app, browser):
    """Only an unavailable database asks to retry after 30 seconds; a script gets the failure as a problem."""

    @app.get("/_uji_rusak")
    def broken() -> str:
        raise RuntimeError("rusak")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = browser.get("/_uji_rusak")
    assert page.status_code == 500 and "Retry-After" not in page.headers
    problem = browser.get("/_uji_rusak", headers={"Accept": "application/json"})
    assert problem.status_code == 500 and problem.content_type == "application/problem+json"
    assert (problem.get_json()["status"], problem.get_json()["title"]) == (500, "Terjadi kesalahan")


def test_a_signed_in_persons_stale_form_is_refused_on_its_page_not_sent_to_sign_in(signed_in, world):
    """A signed-in person's form with a bad token is refused as expired: signing in again would not help."""
    kab = signed_in("verif.kab")
    stale = kab.client.post("/tugas/klaim", data={"task_id": "1", "csrf_token": "basi"})
    assert stale.status_code == 400 and "Formulir kedaluwarsa" in stale.get_data(as_text=True)


def test_a_script_sending_a_form_after_the_session_ended_gets_a_refusal_not_the_sign_in_page(browser, people):
    sent = browser.client.post("/tugas/klaim", data={"task_id": "1"}, headers={"Accept": "application/json"})
    assert sent.status_code == 400 and sent.get_json()["ok"] is False


def test_words_from_data_are_shown_as_people_know_them_and_unknown_ones_as_they_are(app):
    with app.test_request_context("/"):
        assert (i18n.status_label(None), i18n.status_label("ajaib"), i18n.status_label("tidak_melapor")) == (
            "",
            "ajaib",
            "tidak melapor",
        )
        assert i18n.verval_label(None) == "belum diperiksa" and i18n.verval_label("pindah") == "pindah"
        assert (i18n.action_label("ubah"), i18n.action_label("pindahkan")) == ("perbaikan", "pindahkan")
        assert (i18n.job_label("surel"), i18n.job_label("tugas_baru")) == ("Pengiriman surel", "tugas_baru")
        assert i18n.audit_action_label("ACTION_OF_LATER") == "ACTION_OF_LATER"
        assert (i18n.tier_label("desa"), i18n.role_label("forum_sdi")) == ("desa/kelurahan", "Forum SDI")
        assert i18n.attribute_label("warna_bendera") == "warna bendera"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        (None, ""),
        ("", ""),
        ("ack_12", "Catatan peringatan"),
        ("acknowledged", "acknowledged"),
        ("atribut_jumlah_anggota", "Jumlah anggota"),
        ("alasan_x", "alasan x"),
        ("putusan_12", "Putusan #12"),
        ("verdict_7", "Putusan #7"),
        ("nomor_3", "nomor 3"),
        ("tanggal_mulai", "tanggal mulai"),
    ],
)
def test_a_problems_field_reads_as_a_label_never_as_a_key(app, name, label):
    with app.test_request_context("/"):
        assert i18n.field_label(name) == label


def test_a_figure_is_a_number_a_range_or_nothing(app):
    """Every digit of a figure's whole part is shown, never an exponent."""
    assert [i18n.figure(v) for v in (None, 2.0, 2.5, 12, (12, 30.0), "naik")] == ["", "2", "2.5", "12", "12–30", "naik"]
    assert [i18n.figure(v) for v in (123456.7, 1234567.25, 0.00001, 0.1234567)] == [
        "123456.7",
        "1234567.25",
        "0.00001",
        "0.123457",
    ]


def test_the_pages_scripts_get_their_words_in_the_pages_language(app):
    with app.test_request_context("/"):
        session["lang"] = "en"
        words = i18n.script_words("trend.js")
        assert words and any(text != english for text, english in words.items())


def test_a_catalog_compiled_already_is_not_compiled_again_and_a_newer_one_is(tmp_path):
    source = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    source.parent.mkdir(parents=True)
    source.write_text('msgid "Masuk"\nmsgstr "Sign in"\n', encoding="utf-8")
    i18n.compile_catalogs(tmp_path)
    compiled = source.with_suffix(".mo")
    compiled.write_bytes(b"kept")
    stamp = source.stat().st_mtime_ns
    os.utime(compiled, ns=(stamp, stamp))
    i18n.compile_catalogs(tmp_path)
    assert compiled.read_bytes() == b"kept"
    os.utime(compiled, ns=(stamp - 10**9, stamp - 10**9))
    i18n.compile_catalogs(tmp_path)
    assert compiled.read_bytes() != b"kept" and list(compiled.parent.glob("*.tmp")) == []


def test_monitoring_reads_every_figure_under_its_own_name_and_labels():
    figures = Gauges(
        open_tasks={"kecamatan": 3, "desa": 1},
        overdue_tasks={"kabupaten": 2},
        job_runs={("surel", "gagal"): 4},
        outbox_backlog=5,
        email_failing=6,
        email_queued=7,
        email_given_up=8,
    )
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(figures))
    text = generate_latest(registry).decode()
    for line in (
        'sijosku_open_tasks{tingkat="desa"} 1.0',
        'sijosku_open_tasks{tingkat="kecamatan"} 3.0',
        'sijosku_overdue_tasks{tingkat="kabupaten"} 2.0',
        'sijosku_job_runs{job="surel",status="gagal"} 4.0',
        "sijosku_outbox_backlog 5.0",
        "sijosku_email_failing 6.0",
        "sijosku_email_queued 7.0",
        "sijosku_email_given_up 8.0",
    ):
        assert line in text.splitlines(), line


def _versioned(page: str) -> str:
    found = re.search(r'/static/css/app\.css\?v=([0-9a-f]+)"', page)
    assert found, "the page links its styles under their content's name"
    return found.group(1)


def test_a_static_file_is_kept_a_year_only_when_asked_for_under_its_contents_name(app, browser):
    version = _versioned(browser.get("/masuk").get_data(as_text=True))
    assert version == content_version(app.static_folder, "css/app.css") and len(version) == 12
    with browser.get(f"/static/css/app.css?v={version}") as kept:
        assert kept.status_code == 200 and f"max-age={A_YEAR}" in kept.headers["Cache-Control"]
    for asked in ("", "?v=000000000000"):
        with browser.get(f"/static/css/app.css{asked}") as checked:
            assert "max-age" not in checked.headers.get("Cache-Control", ""), asked
    with app.test_request_context("/"):
        assert url_for("static", filename="css/app.css", v="tetap") == "/static/css/app.css?v=tetap"


@pytest.mark.parametrize("name", ["css", "../app.py", "tidak-ada.css"])
def test_a_name_that_is_no_file_of_the_static_folder_has_no_version(app, name):
    assert content_version(app.static_folder, name) == ""


def test_a_static_files_version_follows_its_content(tmp_path):
    styles = tmp_path / "gaya.css"
    styles.write_text("a{}", encoding="utf-8")
    first = content_version(tmp_path, "gaya.css")
    styles.write_text("b{}!", encoding="utf-8")
    assert content_version(tmp_path, "gaya.css") != first


def test_a_signed_in_page_is_kept_off_caches_but_static_files_and_signed_out_pages_are_not(signed_in, browser, world):
    assert "no-store" not in browser.get("/masuk").headers.get("Cache-Control", "")
    kab = signed_in("verif.kab")
    assert kab.get("/tugas/").headers["Cache-Control"] == "no-store"
    with kab.get("/static/css/app.css") as styles:
        assert "no-store" not in styles.headers.get("Cache-Control", "")
    assert "Strict-Transport-Security" not in kab.get("/tugas/").headers  # served over plain HTTP here


def test_a_language_never_offered_falls_back_to_indonesian(browser, people):
    with browser.client.session_transaction() as kept:
        kept["lang"] = "fr"
    assert 'lang="id"' in browser.get("/masuk").get_data(as_text=True)


def test_an_unknown_rule_and_an_unchecked_record_keep_their_own_words_on_one_page(app):
    """A page listing a record not yet checked and a flag of a rule no longer known shows each its own word."""
    with app.test_request_context("/"):
        shown = [(i18n.verval_label(None), i18n.rule_label("aturan_lama")) for _ in range(3)]
        assert shown == [("belum diperiksa", "pemeriksaan lain")] * 3


def test_a_deadline_is_past_from_its_very_moment_and_a_day_is_written_without_its_time_when_asked(app):
    """At the deadline's own instant it is past (0 days late); a date alone is written without a time,
    and a deadline not at midnight is written as its moment."""
    filters = app.jinja_env.filters
    with app.test_request_context(), clock.frozen_at(DEADLINE):
        assert filters["time_left"](DEADLINE) == (True, 0)
    assert filters["wita"](DEADLINE, False) == "31-10-2026"
    assert filters["wita"](DEADLINE) == "31-10-2026 00:00 WITA"
    assert filters["tenggat"](DEADLINE.replace(hour=17)) == "31-10-2026 01:00 WITA"
    assert (filters["wita"](None), filters["tenggat"](None)) == ("-", "-")


def test_the_header_counts_a_persons_open_tasks_and_unread_notices_and_names_their_regions(signed_in, db, world):
    """The header says the open tasks of a verifier (none for an auditor, who has no inbox), the notices
    still unread in the bell (not those read, nor those kept for the digest), and each role's region by name."""
    with db.transaction() as s:
        kab = s.scalar(select(User).where(User.username == "verif.kab"))
        already = inapp.unread_count(s, kab.id)
        for read_at, in_app in ((None, True), (None, True), (clock.now(), True), (None, False)):
            s.add(
                Notification(user_id=kab.id, event_type="uji", judul="J", isi="I", read_at=read_at, di_aplikasi=in_app)
            )
    page = signed_in("verif.kab").get("/tugas/?status=semua").get_data(as_text=True)
    assert f'<span class="count" id="unread-count">{already + 2}</span>' in page
    assert '<strong id="open-count">1</strong>' in page
    assert re.search(r'class="roles">[^<]*Bulungan', page), "the role's region by its name"
    assert '<strong id="open-count">0</strong>' in signed_in("auditor.prov").get("/audit/").get_data(as_text=True)


def test_a_token_made_by_an_administrator_keeps_on_the_trail_the_address_it_was_made_from(signed_in, db, people):
    admin = signed_in("admin.prov")
    form = {"instansi": "Dinkes", "wilayah": "65.01", "sumber_daya": ["agregat"]}
    made = admin.post("/admin/token", form, token_from="/admin/token", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert made.status_code == 201
    with db.read() as s:
        after = s.scalar(select(AuditEvent.after).where(AuditEvent.action == "TOKEN_CREATED"))
    assert after["address"] == "10.1.2.3"


def test_an_upload_is_read_whole_each_time_it_is_read_and_a_form_without_a_file_says_to_choose_one(app):
    """A view run again after a lost race reads the same file again; a file field sent without a file
    chosen is refused with the view's own words."""
    sent = {"berkas": (io.BytesIO(b"nik,nama\n"), "data.csv"), "kosong": (io.BytesIO(b""), "")}
    with app.test_request_context("/", method="POST", data=sent, content_type="multipart/form-data"):
        assert uploaded("berkas", "Pilih berkas") == uploaded("berkas", "Pilih berkas") == ("data.csv", b"nik,nama\n")
        for field in ("kosong", "tidak_dikirim"):
            with pytest.raises(Invalid, match="Pilih berkas"):
                uploaded(field, "Pilih berkas")


def test_a_nul_character_in_a_fields_name_is_refused_as_in_its_value(signed_in, world):
    answer = signed_in("op.desa").post("/masuk", {"username": "op.desa", "password": "x", "na\x00ma": "y"})
    assert answer.status_code == 400 and "karakter NUL" in answer.get_data(as_text=True)


def test_a_static_address_typed_with_a_nul_character_is_not_found_not_a_server_error(app, browser):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    with browser.get("/static/css/a%00pp.css?v=1") as answer:
        assert answer.status_code == 404


def test_a_race_lost_outside_a_views_retries_is_still_a_409_not_a_500(app, browser):
    """A lost race where no retry runs (a step before or after the view) tells the person to try again."""

    def lost() -> str:
        raise _lost_race()

    app.add_url_rule("/_uji_kalah_langsung", "uji_kalah_langsung", lost)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    page = browser.get("/_uji_kalah_langsung")
    assert page.status_code == 409 and "sedang diubah oleh tindakan lain" in page.get_data(as_text=True)


def test_a_database_lost_while_drawing_an_error_page_is_the_503_page(signed_in, world, monkeypatch):
    """The database goes away as a signed-in person's 404 page asks it for the header's counts: the
    person reads that the service is unavailable, not that SIJOSKU failed."""
    kab = signed_in("verif.kab")
    kab.client.application.config["PROPAGATE_EXCEPTIONS"] = False

    def gone(*_args):
        raise OperationalError("SELECT count(*)", {}, Exception("server closed the connection"))

    monkeypatch.setattr(web_app, "_header_counts", gone)
    page = kab.get("/halaman-yang-tidak-ada")
    assert page.status_code == 503 and "Layanan sedang tidak tersedia" in page.get_data(as_text=True)
