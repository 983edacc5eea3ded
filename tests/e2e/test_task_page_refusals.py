"""What a verifier reads when an item's verdict, saved as it is given, is refused: the reason, in
the page's language, never "the connection dropped"."""

from __future__ import annotations

from sqlalchemy import select

from engine.people import users
from engine.verification import claims
from models import HumanTask, SubmissionItem
from tests.e2e.conftest import follow, shows
from tests.factories import PASSWORD, SYSTEM, actor, decide, open_with_items, submit


def _task_claimed_by_a_colleague(db) -> tuple[int, int]:
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.transaction() as s:
        users.add_user(s, SYSTEM, "verif.kec.dua", "verifier", "65.01.01")
    with db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        item_id = s.scalar(select(SubmissionItem.id).where(SubmissionItem.submission_id == sid))
    return task_id, item_id


def test_a_verdict_on_a_task_a_colleague_claimed_says_who_holds_it(db, people, sign_in):
    task_id, item_id = _task_claimed_by_a_colleague(db)
    kecamatan = sign_in("verif.kec", PASSWORD, phone=True)
    page = kecamatan.go(f"/tugas/{task_id}")
    with db.transaction() as s:  # meanwhile a colleague claims it
        claims.claim(s, actor(db, "verif.kec.dua"), task_id)
    page.locator(f"label[for=v-{item_id}-ok]").click()
    state = page.locator(f"#item-{item_id} .verdict-state")
    state.filter(has_text="Tidak tersimpan: ").filter(has_text="diklaim oleh verif.kec.dua").wait_for()
    assert "koneksi" not in state.inner_text()
    kecamatan.check()


def test_the_verdict_states_speak_the_pages_language(db, people, sign_in):
    task_id, item_id = _task_claimed_by_a_colleague(db)
    kecamatan = sign_in("verif.kec", PASSWORD)
    page = kecamatan.go(f"/tugas/{task_id}")
    page.locator("#lang-select").select_option("en")
    follow(page, page.get_by_role("button", name="Ganti bahasa"))  # its scripts run before the click below
    page.locator(f"label[for=v-{item_id}-no]").click()
    shows(page, "Write the reason first.")
    page.locator(f"#alasan-{item_id}").fill("born 1951, not 1950")
    page.locator(f"#alasan-{item_id}").press("Tab")
    page.locator(f"#item-{item_id} .verdict-state").filter(has_text="Saved.").wait_for()


def _kept(page) -> int:
    return page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('sijosku:tugas:')).length")


def _typing_a_return_reason(db, sign_in):
    """A submitted desa's task open on a kecamatan verifier's phone, a return reason being typed."""
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
    kecamatan = sign_in("verif.kec", PASSWORD, phone=True)
    page = kecamatan.go(f"/tugas/{task_id}")
    page.locator("#alasan").fill("Berita acara belum ditandatangani kepala desa")
    return sid, task_id, kecamatan, page


def test_a_return_reason_being_typed_survives_a_reload_and_is_forgotten_once_decided(db, people, sign_in):
    sid, _, _, page = _typing_a_return_reason(db, sign_in)
    page.reload()  # as after signing in again, or a dropped connection
    assert page.locator("#alasan").input_value() == "Berita acara belum ditandatangani kepala desa"
    decide(db, "verif.kec", sid, "approve")  # decided meanwhile (another tab): no decision offered any more
    page.reload()
    assert _kept(page) == 0


def _sign_in_here(page, username: str) -> None:
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Masuk"))


def test_typing_outlives_an_ended_session_and_is_left_for_no_one_else(db, people, sign_in):
    _, task_id, kecamatan, page = _typing_a_return_reason(db, sign_in)
    # the page's own requests (the diagram) answered first: an answer arriving after the cookies are
    # cleared would set the session's cookie again, and the page would still be signed in
    page.wait_for_load_state("networkidle")
    kecamatan.context.clear_cookies()  # the session ended while the person was typing
    page.reload()
    page.wait_for_url("**/masuk**")  # the reload's answer sends the browser on to sign in
    assert "/masuk" in page.url and _kept(page) == 1
    _sign_in_here(page, "verif.kec")
    page.wait_for_url(f"{kecamatan.base}/tugas/{task_id}")  # the task itself, not the sign-in page naming it
    assert page.locator("#alasan").input_value() == "Berita acara belum ditandatangani kepala desa"
    page.wait_for_load_state("networkidle")
    kecamatan.context.clear_cookies()  # then another person signs in at the same phone
    page.goto(f"{kecamatan.base}/masuk")
    _sign_in_here(page, "verif.kab")
    assert _kept(page) == 0


def test_typing_is_forgotten_once_the_decision_is_sent(db, people, sign_in):
    sid = open_with_items(db)
    submit(db, "op.desa", sid)
    with db.transaction() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.submission_id == sid, HumanTask.status == "terbuka"))
        claims.claim(s, actor(db, "verif.kec"), task_id)
    kecamatan = sign_in("verif.kec", PASSWORD)
    page = kecamatan.go(f"/tugas/{task_id}")
    page.get_by_label("Kembalikan ke desa", exact=False).check()
    page.get_by_label("Alasan (wajib bila dikembalikan)").fill("Berita acara belum ditandatangani kepala desa")
    assert _kept(page) == 1
    follow(page, page.get_by_role("button", name="Kirim keputusan"))
    shows(page, "Keputusan tersimpan")
    assert _kept(page) == 0


def test_typing_is_kept_when_the_decision_is_refused_for_a_colleague_s_claim(db, people, sign_in):
    task_id, _ = _task_claimed_by_a_colleague(db)
    kecamatan = sign_in("verif.kec", PASSWORD)
    page = kecamatan.go(f"/tugas/{task_id}")
    page.get_by_label("Kembalikan ke desa", exact=False).check()
    page.get_by_label("Alasan (wajib bila dikembalikan)").fill("Berita acara belum ditandatangani kepala desa")
    with db.transaction() as s:  # meanwhile a colleague claims it
        claims.claim(s, actor(db, "verif.kec.dua"), task_id)
    follow(page, page.get_by_role("button", name="Kirim keputusan"))
    shows(page, "diklaim oleh verif.kec.dua")
    assert _kept(page) == 1
    page = kecamatan.go("/tugas/")  # another page: nothing was decided, nothing is forgotten
    assert _kept(page) == 1
