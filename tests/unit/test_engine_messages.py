"""The engine's Indonesian messages and their English: every one the source writes is translated
with the same pieces, and a message is found whole or by its template."""

from __future__ import annotations

import pytest

from web import engine_messages
from web.engine_messages import PLACEHOLDER, Template, Translations


def test_every_message_the_engine_writes_has_its_english_with_the_same_pieces():
    english = {m.id: m.string for m in engine_messages._read(engine_messages.CATALOG) if m.id}
    written = engine_messages.extract()
    assert len(written) > 250
    missing = sorted(set(written) - set(english))
    assert not missing, f"run `make translations` and write the English of: {missing[:10]}"
    for text in written:
        assert english[text], f"no English for {text!r}"
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english[text])), text


@pytest.mark.parametrize(
    ("indonesian", "english"),
    [
        ("Tugas 12 tidak ada di wilayah Anda", "Task 12 is not in your region"),
        (
            "Pengajuan 7 berstatus diajukan; hanya draf atau yang dikembalikan yang dapat diubah",
            "Submission 7 is diajukan; only a draft or a returned submission can be changed",
        ),
        ("baris 3: NIK harus 16 angka", "row 3: A NIK must be 16 digits"),  # pieces are translated too
        ("Dukcapil: tidak padan pada tanggal lahir", "Dukcapil: does not match on birth date"),  # a field's word
        ("nomor KK harus 16 angka, bukan 3", "KK number must be 16 digits, not 3"),
        (
            'Peta langkah JSON harus berbentuk {"langkah_lama": "langkah_baru"}',
            'A JSON step map must have the form {"old_step": "new_step"}',
        ),
        ("3 baris baru, 0 diperbarui", "3 new rows, 0 updated"),  # an import's summary of what it did
        ("0 baris baru, 1 diperbarui, 2 tidak berubah", "0 new rows, 1 updated, 2 unchanged"),  # a file sent again
        (
            "3 baris baru, 1 diperbarui; 2 peringatan akan diperiksa verifikator",
            "3 new rows, 1 updated; 2 warnings will be checked by the verifier",
        ),
        (  # a message chosen by a condition is translated whole, not with Indonesian pieces
            "NIK menunjukkan laki-laki (tanggal di NIK kurang dari 40), yang diisi perempuan",
            "the NIK says male (its day is under 40), the entry says female",
        ),
        (
            "usia 31 tahun pada 2026-06-30 di luar batas Lanjut Usia Terlantar (60 tahun ke atas)",
            "age 31 on 2026-06-30 is outside the limit of Lanjut Usia Terlantar (60 years and over)",
        ),
        (  # the diagram check's sentences are built of marked pieces: the element's word, the sandbox's refusal
            "Kondisi pada «Disetujui»: memakai sesuatu yang tidak diizinkan demi keamanan "
            "(nama 'open' tidak diizinkan)",
            "Condition on «Disetujui»: uses something not allowed for security (name 'open' is not allowed)",
        ),
        (
            'Batas waktu pada «Tunggu»: P14D harus ditulis di antara tanda kutip: "P14D"',
            'Deadline on «Tunggu»: P14D must be written between quotes: "P14D"',
        ),
        (  # a flag's sentence built by a function of its own, its place and expectation pieces marked
            "LUT di kabupaten/kota 65.01 periode 2025: 68, jauh lebih tinggi dari periode sebelumnya; "
            "diharapkan sekitar 17 (antara 3 dan 41)",
            "LUT in kabupaten/kota 65.01, period 2025: 68, far higher than the periods before; "
            "expected about 17 (between 3 and 41)",
        ),
        ("NIK harus 16 angka, bukan 15", "NIK must be 16 digits, not 15"),
        ("3 instans maju", "3 instances moved on"),  # a scheduled job's report on the schedule page
        ("Kalimat yang tidak dikenal tetap seperti adanya", "Kalimat yang tidak dikenal tetap seperti adanya"),
        ("", ""),
    ],
)
def test_a_message_is_translated_whole_or_by_its_template(indonesian, english):
    assert engine_messages.english().translate(indonesian) == english


def test_the_most_literal_template_wins_and_huge_texts_are_left_alone():
    found = Translations(patterns=[])
    found.patterns = [
        (Template.of("{0} tidak ada"), "{0} is missing"),
        (Template.of("Tugas {0} tidak ada"), "Task {0} does not exist"),
    ]
    found.patterns.sort(key=lambda p: p[0].order)
    assert found.translate("Tugas 5 tidak ada") == "Task 5 does not exist"
    assert found.translate("x" * (engine_messages.LONGEST + 1)) == "x" * (engine_messages.LONGEST + 1)


def test_a_long_message_of_many_pieces_is_matched_in_one_pass():
    """Six lazy groups of a regular expression backtracked for seconds on a long message whose
    literal parts repeat; each part is now found once after the one before."""
    said = Template.of("{0} {1} {2} periode {3}: unggah di halaman tahun itu")
    hostile = "a " * 900 + " periode" * 100 + "x: unggah di halaman tahun itu"
    steps = []
    original = str.find

    class Counting(str):
        def find(self, *args):
            steps.append(1)
            return original(self, *args)

    pieces = said.pieces(Counting(hostile))
    told = "{0} {1} {2} periode {3}: unggah di halaman tahun itu"
    assert told.format(*pieces) == hostile and pieces[:2] == ["a", "a"]  # the pieces rebuild the message
    assert len(steps) == 3  # one look for each literal part between two pieces
    assert said.pieces("LUT 65.01 2025 periode 2025-Q1: unggah di halaman tahun itu") == [
        "LUT",
        "65.01",
        "2025",
        "2025-Q1",
    ]
    assert Template.of("Catatan {0} dan {1}.").pieces("Catatan  dan x.") is None  # each piece has a character
    assert Template.of("Ada {0} masalah{1}").pieces("Ada 3 masalah") == ["3", ""]  # a last note may be empty


def test_every_kind_of_refusal_is_read_for_its_message():
    """A refusal of a kind the extractor does not know would reach English pages in Indonesian."""
    import importlib
    import pkgutil

    import engine
    from engine.core.errors import SijoskuError

    for module in pkgutil.walk_packages(engine.__path__, "engine."):
        importlib.import_module(module.name)

    def kinds(cls: type) -> set[str]:
        return {sub.__name__ for sub in cls.__subclasses__()} | {k for sub in cls.__subclasses__() for k in kinds(sub)}

    assert kinds(SijoskuError) <= engine_messages.MESSAGE_CALLS


def test_every_refusal_a_form_gives_is_indonesian_with_its_english():
    """marshmallow's own messages are English: each field says its refusal in Indonesian, and an English
    page finds the English of it (the forms' file is read for messages as the engine is)."""
    import inspect

    from engine.core.errors import Invalid
    from web import forms

    said: set[str] = set()
    for _name, form in inspect.getmembers(forms, inspect.isclass):
        if not issubclass(form, forms.Form) or form is forms.Form:
            continue
        for field in form._declared_fields:
            for odd in ("x" * 21_000, "zz", "-1", "99999999999", "²"):
                try:
                    forms.parse(form, {field: odd})
                except Invalid as refusal:
                    said |= {refusal.summary} | {p.message for p in refusal.problems}
    assert {"nilai tidak sah", "harus ya atau tidak", "pilih status verval"} <= said
    english = engine_messages.english()
    for text in said:
        assert not text.startswith(("Not a valid", "Must be", "Field may")), text
        assert english.translate(text) != text, f"no English for the form's refusal {text!r}"
