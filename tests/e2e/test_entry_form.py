"""The operator's entry form on a phone: choosing another category keeps what was typed."""

from __future__ import annotations

from tests.factories import PASSWORD, open_with_items, person_row


def _typed(db, sign_in, serial: int):
    """The operator, on a phone, has typed a new person's NIK and name into the form."""
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}/item/baru?kategori=LUT")
    row = person_row(serial)
    page.get_by_label("NIK").fill(row["nik"])
    page.get_by_label("Nama lengkap").fill(row["nama"])
    return operator, page, row


def test_another_category_keeps_what_was_typed_and_leaves_no_nik_in_the_address(db, people, sign_in):
    operator, page, row = _typed(db, sign_in, 5)
    page.get_by_label("Alamat").fill(row["alamat"])
    with page.expect_navigation():
        page.locator("#ganti-kategori").select_option("PD")
    page.wait_for_url("**kategori=PD**")
    assert page.get_by_label("NIK").input_value() == row["nik"]
    assert page.get_by_label("Nama lengkap").input_value() == row["nama"]
    assert page.get_by_label("Alamat").input_value() == row["alamat"]
    assert row["nik"] not in page.url
    operator.check()
    page.reload()  # kept once: a later visit starts empty
    assert page.get_by_label("NIK").input_value() == ""


def test_the_category_list_is_walked_by_keyboard_without_a_reload_per_step(db, people, sign_in):
    """Arrow keys move through the categories; Enter goes to the one chosen, what was typed kept."""
    operator, page, row = _typed(db, sign_in, 6)
    choice = page.locator("#ganti-kategori")
    choice.focus()
    for _ in range(3):
        choice.press("ArrowDown")
    assert "kategori=LUT" in page.url and page.get_by_label("NIK").input_value() == row["nik"]
    chosen = choice.input_value()
    assert chosen != "LUT"
    with page.expect_navigation():
        choice.press("Enter")
    page.wait_for_url(f"**kategori={chosen}**")
    assert page.get_by_label("NIK").input_value() == row["nik"]


def test_a_double_tap_on_save_sends_the_entry_once(db, people, sign_in):
    operator, page, row = _typed(db, sign_in, 6)
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Tanggal lahir").fill(row["tanggal_lahir"])
    # The page's own answer would come back fast here; on a village's connection it does not. So the
    # sending is counted where the browser would start it, and held there while the person taps again.
    sent = page.evaluate(
        """() => {
          const sent = [];
          window.addEventListener("submit", e => { sent.push(!e.defaultPrevented); e.preventDefault(); });
          const save = document.querySelector("form[data-keep-entry] button[type=submit]");
          save.click();
          save.click();
          return sent;
        }"""
    )
    assert sent == [True, False]  # the second tap sends nothing
    operator.visible(page.get_by_role("button", name="Simpan"))


def test_minutes_over_their_limit_are_said_when_chosen_not_after_the_upload(db, people, sign_in):
    sid = open_with_items(db, rows=[])
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go(f"/desa/pengajuan/{sid}")
    chosen = {"name": "ba.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024)}
    page.locator("#berkas-ba").set_input_files(chosen)
    said = page.locator("#berkas-ba").evaluate("input => input.validationMessage")
    assert "lebih dari 10 MB" in said  # the form will not send it: the browser holds it back


def test_an_open_menu_scrolls_away_on_a_phone_held_sideways(db, people, sign_in):
    """Held sideways a phone is 360 px tall: the open menu goes up with the page instead of covering it."""
    operator = sign_in("op.desa", PASSWORD, phone=True)
    page = operator.go("/desa/")
    page.set_viewport_size({"width": 740, "height": 360})
    page.get_by_role("button", name="Menu").click()
    header = "getComputedStyle(document.querySelector('header.top')).position"
    assert page.evaluate(header) == "static"
    page.get_by_role("button", name="Menu").click()
    assert page.evaluate(header) == "sticky"
