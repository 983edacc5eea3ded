"""Rules of the engine's messages in English and of the operator manual in the app.

An English reader sees the engine's Indonesian sentences translated: every sentence the source writes is
collected (both branches of a chosen message, braces written in the sentence kept as braces), the most
specific template wins, a message ending in an optional note is still translated, and a message up to the
longest worth matching is translated. The manual's chapters link to a section of another chapter, show raw
HTML as text, serve only the chapters of the manual, and offer a phone's narrower picture only when the
screenshot is wider than a phone's screen."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from PIL import Image

from web import engine_messages
from web import manual_chapters as chapters
from web.engine_messages import LONGEST, Translations


def _source(tmp_path: Path, monkeypatch, code: str) -> dict[str, str]:
    monkeypatch.setattr(engine_messages, "ENGINE", tmp_path / "engine")  # each sentence is named by its file from here
    path = tmp_path / "engine_module.py"
    path.write_text(code, encoding="utf-8")
    return engine_messages.extract((path,))


def _catalog(tmp_path: Path, pairs: list[tuple[str, str]]) -> Translations:
    catalog = Catalog(locale="en")
    for indonesian, english in pairs:
        catalog.add(indonesian, english)
    path = tmp_path / "engine.po"
    with path.open("wb") as out:
        write_po(out, catalog, width=0)
    return Translations.read(path)


# -- the engine's sentences and their English ----------------------------------------------------


def test_a_sentence_of_four_letters_is_collected_and_one_of_three_is_not(tmp_path, monkeypatch):
    found = _source(
        tmp_path, monkeypatch, 'Invalid("ab c")\nInvalid("a b")\nInvalid(f"{n} xy z")\nInvalid(f"{n} x y")\n'
    )
    assert set(found) == {"ab c", "{0} xy z"}


def test_both_messages_a_condition_chooses_between_are_collected(tmp_path, monkeypatch):
    found = _source(tmp_path, monkeypatch, 'Invalid("berkas sudah ada" if ada else "berkas belum ada")\n')
    assert set(found) == {"berkas sudah ada", "berkas belum ada"}


def test_braces_written_in_a_sentence_stay_braces_beside_its_pieces(tmp_path, monkeypatch):
    found = _source(tmp_path, monkeypatch, 'Invalid(f"kolom {{nik}} tidak dikenal: {nama}")\n')
    assert set(found) == {"kolom {{nik}} tidak dikenal: {0}"}


def test_a_message_with_braces_and_no_pieces_is_translated_whole(tmp_path):
    english = _catalog(tmp_path, [("isi {{nik}} dengan angka", "fill {{nik}} with digits")])
    assert english.translate("isi {nik} dengan angka") == "fill {{nik}} with digits"


def test_the_most_specific_template_is_chosen_whichever_the_catalog_lists_first(tmp_path):
    english = _catalog(tmp_path, [("{0} tidak ada", "{0} does not exist"), ("Tugas {0} tidak ada", "Task {0} is gone")])
    assert english.translate("Tugas 12 tidak ada") == "Task 12 is gone"
    assert english.translate("Berkas 3 tidak ada") == "Berkas 3 does not exist"


def test_a_message_whose_optional_note_is_left_off_is_still_translated(tmp_path):
    english = _catalog(tmp_path, [("Berkas {0} ditolak{1}", "File {0} refused{1}")])
    assert english.translate("Berkas a.csv ditolak") == "File a.csv refused"
    assert english.translate("Berkas a.csv ditolak: kosong") == "File a.csv refused: kosong"


def test_a_message_of_the_longest_length_worth_matching_is_translated_and_a_longer_one_is_not(tmp_path):
    english = _catalog(tmp_path, [("Nama {0} terlalu panjang", "Name {0} is too long")])
    prefix, suffix = "Nama ", " terlalu panjang"
    longest = prefix + "x" * (LONGEST - len(prefix) - len(suffix)) + suffix
    assert len(longest) == LONGEST
    assert english.translate(longest).startswith("Name x")
    longer = prefix + "x" * (LONGEST + 1 - len(prefix) - len(suffix)) + suffix
    assert english.translate(longer) == longer


# -- the operator manual in the app -------------------------------------------------------------


def _manual(tmp_path: Path, monkeypatch, slug: str, text: str) -> None:
    manual = tmp_path / "panduan"
    manual.mkdir(exist_ok=True)
    (manual / f"{slug}.md").write_text(text, encoding="utf-8")
    monkeypatch.setattr(chapters, "MANUAL", manual)


def _screenshot(tmp_path: Path, monkeypatch, name: str, width: int) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir(exist_ok=True)
    Image.new("RGB", (width, 40), "white").save(shots / name)
    monkeypatch.setattr(chapters, "SCREENSHOTS", shots)


def test_a_link_to_a_section_of_another_chapter_leads_to_that_section(tmp_path, monkeypatch):
    _manual(tmp_path, monkeypatch, "kecamatan", "# Bab\n\nLihat [menyetujui](kabupaten.md#menyetujui-berkas).\n")
    html = chapters.render_chapter("kecamatan")
    assert 'href="/bantuan/kabupaten#menyetujui-berkas"' in html


def test_html_written_in_a_chapter_is_shown_as_text_never_run(tmp_path, monkeypatch):
    _manual(tmp_path, monkeypatch, "provinsi", "# Bab\n\n<script>alert(1)</script>\n\nTeks <b>tebal</b>.\n")
    html = chapters.render_chapter("provinsi")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_a_file_beside_the_chapters_that_is_no_chapter_is_not_served(tmp_path, monkeypatch):
    _manual(tmp_path, monkeypatch, "rahasia", "# Catatan pribadi\n")
    assert chapters.render_chapter("rahasia") is None


def test_a_screenshot_exactly_a_phones_width_is_offered_only_at_its_own_width(tmp_path, monkeypatch):
    _screenshot(tmp_path, monkeypatch, "pas.png", chapters.PHONE_WIDTH)
    _screenshot(tmp_path, monkeypatch, "lebar.png", chapters.PHONE_WIDTH + 1)
    text = "# Bab\n\n![Pas](../screenshots/pas.png)\n\n![Lebar](../screenshots/lebar.png)\n"
    _manual(tmp_path, monkeypatch, "auditor", text)
    html = chapters.render_chapter("auditor")
    width = chapters.PHONE_WIDTH
    assert f'srcset="/bantuan/gambar/pas.webp {width}w"' in html
    assert f'srcset="/bantuan/gambar/lebar-{width}.webp {width}w, /bantuan/gambar/lebar.webp {width + 1}w"' in html


def test_a_screenshot_narrower_than_asked_is_never_enlarged(tmp_path, monkeypatch):
    _screenshot(tmp_path, monkeypatch, "kecil.png", 300)
    shown = Image.open(io.BytesIO(chapters.screenshot_webp("kecil", chapters.PHONE_WIDTH)))
    assert shown.size == (300, 40)
