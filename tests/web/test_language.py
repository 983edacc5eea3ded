"""Indonesian by default, English on request; both complete; times in WITA."""

from __future__ import annotations

import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from models import CycleRhythm, HumanTask
from tests.factories import open_with_items, submit
from web.i18n import compile_catalogs

CATALOG = Path(__file__).resolve().parents[2] / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def test_the_english_catalog_is_complete_and_keeps_placeholders():
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 200
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)  # a count's two forms
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"not translated: {message.id!r}"
        assert not message.fuzzy, message.id
        for text in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", ids[0])) == set(re.findall(r"%\(\w+\)[sd]", text)), text


def test_a_count_is_singular_or_plural_in_english(browser, db, people):
    """Indonesian says `1 tugas` and `2 tugas`; English says `1 task` and `2 tasks`."""
    submit(db, "op.desa", open_with_items(db))
    browser.login("verif.kec")
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    with db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.status == "terbuka", HumanTask.tingkat == "kecamatan"))
    claimed = browser.post("/tugas/klaim", {"task_id": [str(task_id)], "aksi": "klaim"}, token_from="/tugas/")
    page = browser.get(claimed.headers["Location"]).get_data(as_text=True)
    assert "1 task claimed." in page and "<p>1 task</p>" in page and "tasks claimed" not in page


def test_processes_starting_together_compile_the_catalog_without_tripping_on_each_other(tmp_path):
    """On a fresh clone the server and the tests start at once, and each compiles the catalog."""
    directory = tmp_path / "translations"
    shutil.copytree(CATALOG.parents[2], directory, ignore=shutil.ignore_patterns("*.mo"))
    errors: list[BaseException] = []
    for _round in range(5):
        for mo in directory.glob("*/LC_MESSAGES/*.mo"):
            mo.unlink()
        start = threading.Barrier(8)

        def compile_at_once(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                compile_catalogs(directory)
            except BaseException as error:  # noqa: BLE001  # collected for the assertion below
                errors.append(error)

        threads = [threading.Thread(target=compile_at_once) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    messages = directory / "en" / "LC_MESSAGES"
    assert not [p.name for p in messages.iterdir() if p.name.endswith(".tmp")]
    assert (messages / "messages.mo").stat().st_size > 1000


def test_every_template_string_is_in_the_catalog():
    """A string added to a page without extracting it again would show in Indonesian only."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[2]
    with CATALOG.open("rb") as handle:
        known = {m.id for m in read_po(handle) if m.id}
    found = {
        msg
        for _, _, msg, *_ in extract_from_dir(
            root / "web",
            method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            keywords={"_": None, "_l": None, "gettext": None},
        )
    }
    missing = {m for m in found if isinstance(m, str)} - known
    assert not missing, f"run pybabel extract/update: {sorted(missing)[:10]}"


def test_switching_to_english(browser, people):
    assert "Masuk ke SIJOSKU" in browser.get("/masuk").get_data(as_text=True)
    browser.post("/bahasa", {"lang": "en", "next": "/masuk"}, token_from="/masuk")
    page = browser.get("/masuk").get_data(as_text=True)
    assert "Masuk ke SIJOSKU" not in page and 'lang="en"' in page
    browser.login("verif.kec")
    inbox = browser.get("/tugas/").get_data(as_text=True)
    assert "Task inbox" in inbox and "Kotak tugas" not in inbox


def test_switching_language_on_a_page_that_answered_a_form_returns_to_the_page_before(browser, db, people):
    sid = open_with_items(db)
    browser.login("op.desa")
    with db.transaction() as s:  # the minutes are required: submitting is refused on the form's answer
        rhythm = s.scalar(select(CycleRhythm)) or CycleRhythm()
        rhythm.berita_acara_wajib = True
        s.add(rhythm)
    answer = browser.post(f"/desa/pengajuan/{sid}/ajukan", {}, token_from=f"/desa/pengajuan/{sid}")
    assert answer.status_code == 400 and 'name="next" value=""' in answer.get_data(as_text=True)
    switched = browser.post(
        "/bahasa",
        {"lang": "en", "next": ""},
        token_from="/akun/sandi",
        headers={"Referer": f"http://localhost/desa/pengajuan/{sid}"},
    )
    assert switched.headers["Location"] == f"/desa/pengajuan/{sid}"
    typed = browser.get(f"/desa/pengajuan/{sid}/ajukan")  # a form's address typed in: the product's own page
    page = typed.get_data(as_text=True)
    assert typed.status_code == 405 and "This address is for sending a form" in page and "SIJOSKU" in page


def test_the_engines_refusals_are_english_in_english(browser, people):
    """A message the engine writes in Indonesian reaches an English page in English, with its pieces."""
    browser.login("verif.kec")
    assert "Tugas 999999 tidak ada" in browser.get("/tugas/999999").get_data(as_text=True)
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    page = browser.get("/tugas/999999").get_data(as_text=True)
    lead = re.search(r'<p class="lead">(.*?)</p>', page).group(1)
    assert lead == "Task 999999 is not in your inbox", lead


def test_times_are_shown_in_wita(browser, db, people):
    """A due time of 17:30 UTC is 01:30 the next day in Kalimantan Utara (UTC+8)."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.transaction() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        task.due_at = datetime(2027, 3, 1, 17, 30, tzinfo=UTC)
    browser.login("verif.kec")
    assert "02-03-2027 01:30 WITA" in browser.get("/tugas/").get_data(as_text=True)


def test_a_problems_field_is_named_as_people_know_it(app):
    from web.i18n import field_label

    with app.test_request_context("/"):
        assert [field_label(n) for n in ("nomor_sk", "sumber_daya", "alasan_12", "tanda_3", "atribut_nama_ketua")] == [
            "Nomor SK",
            "Jenis data",
            "Alasan #12",
            "Tanda #3",
            "Nama ketua",
        ]


def test_every_audited_action_has_its_words(app):
    from engine.core.audit import AuditAction
    from web.i18n import audit_action_label

    with app.test_request_context("/"):
        assert all(audit_action_label(a.value) != a.value for a in AuditAction)
        assert audit_action_label("SUBMISSION_OPENED") == "pengajuan dibuka"


def test_a_forms_refusal_is_english_in_english(browser, people):
    browser.login("verif.kab")
    assert "Periode seperti 2026-Q4" in browser.get("/mutu/?periode_lengkap=zzz").get_data(as_text=True)
    browser.post("/bahasa", {"lang": "en", "next": "/mutu/"}, token_from="/mutu/")
    page = browser.get("/mutu/?periode_lengkap=zzz").get_data(as_text=True)
    assert "A period such as 2026-Q4, 2026-S2 or 2026" in page and "eriode seperti" not in page


def test_a_refusal_by_role_is_english_and_the_menu_offers_only_pages_the_person_may_open(browser, people):
    browser.login("verif.kec")
    home = browser.get("/tugas/").get_data(as_text=True)
    assert "/penetapan/" not in home and "/mutu/" not in home  # the figures' pages are the regency's and up
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    refused = browser.get("/penetapan/")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "This page is for the kabupaten/kota and the province" in page
    browser.login("verif.kab")
    assert "/penetapan/" in browser.get("/tugas/").get_data(as_text=True)


def test_a_persons_sex_is_a_word_in_the_pages_language(browser, db, people):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    browser.login("verif.kec")
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    assert "perempuan</dd>" in browser.get(f"/tugas/{task}").get_data(as_text=True)
    browser.post("/bahasa", {"lang": "en", "next": "/tugas/"}, token_from="/tugas/")
    assert "female</dd>" in browser.get(f"/tugas/{task}").get_data(as_text=True)
