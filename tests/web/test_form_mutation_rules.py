"""What the web forms accept and refuse, seen through the pages that read them: each text's bound,
the spaces dropped or kept, the choices offered, the defaults of an unsent field, and the ids and
periods a form or an address may carry."""

from __future__ import annotations

import html

from sqlalchemy import select

from models import AgencyToken, HumanTask, ItemVerdict, SubmissionItem, User
from tests.factories import (
    PASSWORD,
    items_of,
    open_with_items,
    person_row,
    reconciliation_year,
    submit,
)
from tests.web.conftest import Browser
from tests.web.test_operator_register import _verified_register


def _text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def test_a_username_of_200_characters_is_checked_and_one_longer_is_refused_by_the_form(browser, people):
    """The sign-in form takes a username up to 200 characters, spaces around it aside; the 201st is refused
    beside the field."""
    assert browser.login("a" * 200, "x").status_code == 401  # read, and simply wrong
    assert browser.login(f"  {'a' * 200} ", "x").status_code == 401  # the spaces around it are not counted
    refused = browser.login("a" * 201, "x")
    assert refused.status_code == 400 and "Nama pengguna: Paling banyak 200 karakter" in _text(refused)


def test_a_lists_page_number_runs_from_1_to_100000(signed_in, people):
    """A page number below 1 or above 100000 is refused, saying the range; the bounds themselves are pages."""
    admin = signed_in("admin.prov")
    for number in ("1", "100000"):
        assert admin.get(f"/admin/pengguna?halaman={number}").status_code == 200, number
    for number in ("0", "100001"):
        refused = admin.get(f"/admin/pengguna?halaman={number}")
        assert refused.status_code == 400, number
        assert "Halaman: Harus bilangan bulat 1 sampai 100000" in _text(refused)


def test_only_ascii_ids_within_the_columns_range_are_ticked_tasks(signed_in, world):
    """A ticked task's id is ASCII digits, at most ten, up to 2147483647; anything else is no task at all."""
    kab = signed_in("verif.kab")
    odd = ["2147483648", "00000000001", "²", f"{world.kab_task}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))]
    page = _text(kab.post("/tugas/klaim", {"task_id": odd}, token_from="/tugas/", follow_redirects=True))
    assert "Belum ada tugas yang dipilih" in page and "diklaim." not in page
    page = _text(kab.post("/tugas/klaim", {"task_id": "2147483647"}, token_from="/tugas/", follow_redirects=True))
    assert "Tugas #2147483647: Tugas 2147483647 tidak ada di kotak tugas Anda" in page
    claimed = kab.post("/tugas/klaim", {"task_id": str(world.kab_task)}, token_from="/tugas/", follow_redirects=True)
    assert "1 tugas diklaim." in _text(claimed)  # a form that does not say to release claims


def test_the_inbox_shows_open_tasks_unless_asked_and_reads_a_region_without_its_spaces(signed_in, world):
    """The inbox's filter: open tasks by default, every task when asked; a region typed with spaces around it."""
    inbox = _text(signed_in("verif.kab").get("/tugas/", query_string={"wilayah": " 65.01.01 "}))
    assert "1 tugas" in inbox and "2026-Q3" in inbox and "2026-Q2" not in inbox
    everything = _text(signed_in("verif.kab").get("/tugas/?status=semua"))
    assert "2 tugas" in everything and "2026-Q2" in everything


def test_a_version_number_beyond_the_columns_range_is_refused_by_the_form(signed_in, people):
    """An id typed in an address is a whole number within ±2147483647; beyond it the form says so."""
    admin = signed_in("admin.prov")
    unknown = admin.get("/admin/definisi/banding?kiri=2147483647&kanan=2147483647")
    assert unknown.status_code == 404 and "Definisi 2147483647 tidak ada" in _text(unknown)
    for beyond in ("2147483648", "-2147483648"):
        refused = admin.get(f"/admin/definisi/banding?kiri={beyond}&kanan=1")
        assert refused.status_code == 400 and "Versi kiri: Di luar rentang" in _text(refused), beyond


def test_a_period_filter_is_a_year_its_quarters_1_to_4_or_its_halves_1_and_2(signed_in, people):
    """The dashboard's period is empty, a year, a quarter Q1-Q4 or a half S1-S2; no other quarter or half."""
    regency = signed_in("verif.kab")
    for period in ("", "2026", "2026-Q1", "2026-Q4", "2026-S1", "2026-S2", " 2026-Q3 "):
        assert regency.get("/mutu/", query_string={"periode_lengkap": period}).status_code == 200, period
    for period in ("2026-Q0", "2026-Q5", "2026-S0", "2026-S3", "202-Q1", "20261", "2026-q1", "2026-Q1-S1"):
        refused = regency.get("/mutu/", query_string={"periode_lengkap": period})
        assert refused.status_code == 400 and "seperti 2026-Q4, 2026-S2 atau 2026" in _text(refused), period


def test_a_username_is_read_without_the_spaces_around_it_and_a_password_with_them(app, browser, people):
    """Signing in drops the spaces typed around a username, but a password is every character typed."""
    assert browser.login("  verif.kab \n", PASSWORD).status_code == 302
    assert Browser(app.test_client()).login("verif.kec", f" {PASSWORD} ").status_code == 401


def test_a_new_password_keeps_its_spaces_and_the_current_one_must_be_typed_exactly(app, signed_in, people):
    """The password form keeps every character of the new password; a current one with spaces around it is wrong."""
    operator = signed_in("op.desa")
    new = "  Sandi baru 2027 pagi  "
    changed = operator.post("/akun/sandi", {"current": PASSWORD, "new": new, "repeat": new})
    assert changed.status_code == 302
    assert Browser(app.test_client()).login("op.desa", new).status_code == 302  # with the spaces, as typed
    kab = signed_in("verif.kab")
    refused = kab.post(
        "/akun/sandi", {"current": f" {PASSWORD}", "new": "Sandi lain 2027 x", "repeat": "Sandi lain 2027 x"}
    )
    assert refused.status_code == 400 and "kata sandi sekarang salah" in _text(refused)


def test_every_faulty_field_of_a_form_is_named_in_the_order_of_the_fields_names(browser, people):
    """A form with several faulty fields names each, in one order whatever the form's layout: by the field's name."""
    refused = _text(browser.login("a" * 201, "b" * 1001))
    password, username = (
        refused.find("Kata sandi: Paling banyak 1000"),
        refused.find("Nama pengguna: Paling banyak 200"),
    )
    assert 0 < password < username


def test_the_language_is_indonesian_or_english_and_indonesian_when_none_is_chosen(browser, people):
    """The language switch offers `id` and `en` only; a form sending no language goes back to Indonesian."""
    refused = browser.post("/bahasa", {"lang": "fr", "next": "/masuk"}, token_from="/masuk")
    assert refused.status_code == 400 and "Pilih salah satu dari: id, en" in _text(refused)
    browser.post("/bahasa", {"lang": "en", "next": "/masuk"}, token_from="/masuk")
    assert 'lang="en"' in _text(browser.get("/masuk"))
    assert browser.post("/bahasa", {"next": "/masuk"}, token_from="/masuk").status_code == 302
    assert 'lang="id"' in _text(browser.get("/masuk"))


def test_a_register_status_must_be_chosen_and_odd_record_ids_are_passed_over(browser, db, people):
    """Marking records needs a status; ids that are not ASCII digits are skipped, not refused; the register
    then lists the records still unchecked; a search over 80 characters is refused; withdrawing a statement
    is one of the statements."""
    sid = _verified_register(db, [person_row(1), person_row(2)])
    first, second = (i.id for i in items_of(db, sid))
    browser.login("op.desa")
    back = f"/desa/pengajuan/{sid}"
    unchosen = _text(browser.post(f"{back}/register", {"item_id": first}, token_from=back, follow_redirects=True))
    assert "Isian belum benar: wajib diisi" in unchosen and "0 dari 2 catatan sudah diperiksa" in unchosen
    marked = browser.post(
        f"{back}/register", {"item_id": ["x", "²", first], "status": "layak"}, token_from=back, follow_redirects=True
    )
    assert "1 catatan diberi status: ditemukan, masih layak." in _text(marked)
    listed = _text(browser.get(f"{back}/register"))  # the records still to check, unless another filter is chosen
    assert "1 catatan" in listed and person_row(2)["nama"] in listed and person_row(1)["nama"] not in listed
    assert browser.post(f"{back}/register/cari", {"q": "x" * 80}, token_from=back).status_code == 200
    too_long = browser.post(f"{back}/register/cari", {"q": "x" * 81}, token_from=back)
    assert too_long.status_code == 400 and "Paling banyak 80 karakter" in _text(too_long)  # refused, not cut
    refused = _text(browser.post(f"{back}/pernyataan", {}, token_from=back, follow_redirects=True))
    assert "Isian belum benar: wajib diisi" in refused and "Pernyataan tersimpan" not in refused
    browser.post(f"{back}/pernyataan", {"aksi": "tidak_diperiksa", "alasan": "banjir"}, token_from=back)
    withdrawn = _text(browser.post(f"{back}/pernyataan", {"aksi": "tarik"}, token_from=back, follow_redirects=True))
    assert (
        "Pernyataan tersimpan." in withdrawn and "register tidak dapat diperiksa periode ini — banjir" not in withdrawn
    )


def test_a_new_persons_username_drops_the_spaces_around_it_and_the_first_password_keeps_them(
    app, signed_in, db, people
):
    """An administrator's new account: the username of up to 64 characters is read without the spaces
    typed around it; the first password is every character typed, spaces too."""
    admin = signed_in("admin.prov")
    username, password = "b" * 64, "  sandi awal 123  "
    person = {"username": f"  {username} ", "nama": "Yohanes", "password": password, "role": "auditor", "region": "65"}
    assert admin.post("/admin/pengguna", person, token_from="/admin/pengguna").status_code == 302
    with db.read() as s:
        assert s.scalar(select(User.username).where(User.nama == "Yohanes")) == username
    assert Browser(app.test_client()).login(username, password).status_code == 302


def test_a_token_made_without_its_options_reads_for_a_year_without_writing_or_full_niks(signed_in, db, people):
    """A token whose form leaves its boxes unticked and its days unsaid lasts 365 days, reads only, masks NIKs."""
    admin = signed_in("admin.prov")
    form = {"instansi": "Dinkes", "wilayah": "65.01", "sumber_daya": ["agregat", "catatan"]}
    assert admin.post("/admin/token", form, token_from="/admin/token").status_code == 201
    with db.read() as s:
        token = s.scalar(select(AgencyToken))
        assert (token.expires_at - token.created_at).days == 365 and not token.can_write and not token.sees_nik


def test_a_verdicts_reason_is_kept_without_spaces_and_odd_item_keys_or_pages_are_passed_over(browser, db, people):
    """Saving verdicts reads `verdict_<id>` for ASCII ids only, trims each reason, and returns to page 1
    when the page sent is not a number."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.read() as s:
        task = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        first = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid).order_by("id"))
    browser.login("verif.kec")
    form = {f"verdict_{first}": "tidak_sesuai", f"alasan_{first}": "  umur salah \n", "verdict_²": "sesuai"}
    saved = browser.post(f"/tugas/{task}/putusan", {**form, "halaman": "dua"}, token_from=f"/tugas/{task}")
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/tugas/{task}?halaman=1")
    with db.read() as s:
        assert s.scalars(select(ItemVerdict.alasan).where(ItemVerdict.item_id == first)).all() == ["umur salah"]


def test_a_reconciliation_year_longer_than_four_characters_is_refused_by_the_form(db, people, password_hash, signed_in):
    """The year to open is at most four characters; a fifth is refused beside the field, nothing is tried."""
    reconciliation_year(db, password_hash, team=False)
    refused = signed_in("walidata.prov").post("/rekonsiliasi/buka", {"tahun": "20266"})
    assert refused.status_code == 400 and "Paling banyak 4 karakter" in _text(refused)


def test_a_tokens_resource_name_is_bounded_by_the_form_before_it_is_looked_up(signed_in, db, people):
    """A resource name past 40 characters is refused by the form, beside its field, and no token is made."""
    admin = signed_in("admin.prov")
    form = {"instansi": "Dinkes", "wilayah": "65.01", "sumber_daya": ["agregat", "a" * 41]}
    refused = admin.post("/admin/token", form, token_from="/admin/token")
    assert refused.status_code == 400 and "paling banyak 40 karakter" in _text(refused).lower()
    with db.read() as s:
        assert s.scalar(select(AgencyToken)) is None


def test_the_inbox_lists_the_nearest_deadline_first_unless_another_order_is_asked(signed_in, db, people):
    """The inbox's default order is the deadline's, whatever order the tasks came in."""
    from datetime import timedelta

    from engine.core import clock

    first, second = (open_with_items(db, desa=desa) for desa in ("65.01.01.2005", "65.01.01.2006"))
    submit(db, "op.desa", first)
    submit(db, "op.lain", second)
    with db.transaction() as s:
        tasks = {t.submission_id: t for t in s.scalars(select(HumanTask).where(HumanTask.status == "terbuka"))}
        tasks[first].due_at, tasks[second].due_at = clock.now() + timedelta(days=2), clock.now() + timedelta(days=9)
        nearest, newest = tasks[first].id, tasks[second].id  # the first to come has the nearer deadline
    inbox = signed_in("verif.kec")
    for query, ahead, behind in (
        ("", nearest, newest),
        ("?urut=tenggat", nearest, newest),
        ("?urut=terbaru", newest, nearest),
    ):
        page = _text(inbox.get(f"/tugas/{query}"))
        assert page.index(f'href="/tugas/{ahead}"') < page.index(f'href="/tugas/{behind}"'), query
