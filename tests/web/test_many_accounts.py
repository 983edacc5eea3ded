"""Many accounts at once: a regency's operators from one file, each with a first password shown once
and changed at the first sign-in; a file with one wrong row makes no account at all."""

from __future__ import annotations

import io
import json
import re

from sqlalchemy import func, select

from engine.core.actors import Actor
from engine.people import users
from models import AuditEvent, User
from tests.integration.conftest import cli  # noqa: F401  (the command line, as the integration tests drive it)
from tests.web.conftest import Browser

PAGE = "/admin/pengguna"
OPERATORS = "username,nama,peran,wilayah,email\n" + "".join(
    f"op.{code},Operator {code},operator,65.01.01.{code},op{code}@desa.id\n" for code in ("2007", "2008", "2009")
)


def _upload(browser, text: str, name: str = "orang.csv"):
    data = {"berkas": (io.BytesIO(text.encode()), name)}
    return browser.post(f"{PAGE}/impor", data, token_from=PAGE, content_type="multipart/form-data")


def _accounts(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(User))


def test_a_regencys_operators_are_made_from_one_file_and_sign_in_with_their_first_password(app, db, people, browser):
    browser.login("admin.prov")
    answer = _upload(browser, OPERATORS)
    page = answer.get_data(as_text=True)
    assert (
        answer.status_code == 200 and "3 akun dibuat" in page and answer.headers["Cache-Control"].startswith("no-store")
    )
    first = dict(re.findall(r"<td>(op\.\d{4})</td>.*?<td class=\"mono\">([a-z0-9]{12})</td>", page))
    assert set(first) == {"op.2007", "op.2008", "op.2009"}
    assert 'download="akun-baru.csv"' in page
    with db.read() as s:
        made = s.scalar(select(User).where(User.username == "op.2008"))
        assert made.ganti_sandi and made.email == "op2008@desa.id" and made.roles[0].region_kode == "65.01.01.2008"
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "USER_CREATED")) >= 3
    person = Browser(app.test_client())
    signed = person.login("op.2008", first["op.2008"])
    assert signed.status_code == 302 and person.get("/desa/").headers["Location"].endswith("/akun/sandi")


def test_one_wrong_row_makes_no_account_and_every_row_is_named(db, people, browser):
    browser.login("admin.prov")
    before = _accounts(db)
    rows = OPERATORS + "op.desa,Sudah Ada,operator,65.01.01.2005,\nop.x,X,raja,65.01.01.2005,\nop.y,Y,operator,65.01,\n"
    answer = _upload(browser, rows)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Tidak ada akun yang dibuat" in page
    assert "Baris 5" in page and "sudah dipakai" in page  # an existing account is not changed
    assert "Baris 6" in page and "raja" in page  # an unknown role
    assert "Baris 7" in page and "tidak dapat diberikan di tingkat kabupaten" in page
    assert _accounts(db) == before


def test_a_regency_admin_makes_accounts_only_in_the_regency(db, people, signed_in, cli, tmp_path):  # noqa: F811
    with db.transaction() as s:
        users.add_user(s, Actor.system("test"), "admin.kab", "admin", "65.02")
        users.find_user(s, "admin.kab").password_hash = users.find_user(s, "admin.prov").password_hash
    outside = _upload(signed_in("admin.kab"), OPERATORS)
    assert (
        outside.status_code == 400
        and "Baris 2, Wilayah: Pilih wilayah di dalam wilayah peran admin Anda" in outside.get_data(as_text=True)
    )
    path = tmp_path / "orang.csv"
    path.write_text(OPERATORS, encoding="utf-8")
    made = json.loads(cli("user", "import", str(path), "--user", "admin.prov", "--json").output)
    assert [m["username"] for m in made] == ["op.2007", "op.2008", "op.2009"] and all(
        len(m["sandi_awal"]) == 12 for m in made
    )
    again = cli("user", "import", str(path), ok=False)  # the same file twice: the accounts exist
    assert "sudah dipakai" in again.output + again.stderr


def test_a_name_or_address_too_long_or_with_hidden_characters_is_named_by_row(db, people, browser):
    browser.login("admin.prov")
    before = _accounts(db)
    rows = (
        "username,nama,peran,wilayah,email\n"
        f"op.a,{'N' * 121},operator,65.01.01.2005,\n"
        f"op.b,Budi,operator,65.01.01.2005,a@{'b' * 300}.id\n"
        "op.c,Budi\u202eAdmin\u200b,operator,65.01.01.2005,\n"
        "op.e,Budi,operator,65.01.01.2005,budi\u200b@desa.id\n"
        "op.d,Siti\u00a0 Aminah,operator,65.01.01.2005,\n"
    )
    answer = _upload(browser, rows)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Tidak ada akun yang dibuat" in page and _accounts(db) == before
    assert "Baris 2, Nama: Paling banyak 120 karakter" in page and "Baris 3, email: Paling banyak 200 karakter" in page
    assert (
        "Baris 4, Nama: Memuat karakter tak terlihat" in page and "Baris 5, email: Memuat karakter tak terlihat" in page
    )
    assert "Baris 6" not in page  # a no-break space is a space
    answer = _upload(browser, rows.split("\n", 1)[0] + "\n" + rows.splitlines()[-1] + "\n")
    assert answer.status_code == 200
    with db.read() as s:
        assert s.scalar(select(User.nama).where(User.username == "op.d")) == "Siti Aminah"
