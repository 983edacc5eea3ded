"""Published figures, region holders and category templates at their edges: a year's figure is
`ditetapkan` only while it is the very number determined; the people and tokens bound to an ending code
move with it; each category's template asks for the columns its unit needs.

Each test here fails against a small wrong change to the product that the rest of the suite let pass."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from engine.core.errors import NotFound
from engine.people import tokens
from engine.verification import figure_status, instruments, region_holders
from engine.verification.figure_status import FigureStatus, Statuses
from models import AgencyToken, AggregateValue, Category
from tests.factories import SYSTEM, open_with_items

ENDING, HEIR = "65.01.01.2006", "65.01.01.2005"  # Pejalin ends and Gunung Putih carries it on


def _value(nilai: int, periode: str = "2026") -> AggregateValue:
    return AggregateValue(region_kode="65.01", kategori="LUT", periode=periode, nilai=nilai, sumber="dinsos")


def test_a_years_figure_moved_by_a_later_correction_is_no_longer_the_determined_one(db, monkeypatch):
    """The head determined 17 for Bulungan's LUT; a correction since made it 18: 18 is verified, not
    official (an agency would otherwise plan on a number nobody determined)."""
    determined = SimpleNamespace(content={"angka": [["65.01", "LUT", 17]]})
    monkeypatch.setattr(figure_status.determinations, "latest", lambda _session, tahun: determined)
    with db.read() as s:
        statuses = Statuses(s, ["2026"])
    assert statuses.of(_value(17)) == FigureStatus.DITETAPKAN
    assert statuses.of(_value(18)) == FigureStatus.TERVERIFIKASI


def test_a_years_figure_is_provisional_while_any_period_of_that_year_is_in_work(db):
    """Gunung Putih's 2026-Q4 submission is still a draft: Bulungan's 2026 figure, and the province's,
    may still change; a regency without work in the year's periods is verified."""
    open_with_items(db)
    with db.read() as s:
        statuses = Statuses(s, ["2026"])
    assert statuses.in_work("2026", "65.01") and statuses.in_work("2026", "65")
    assert statuses.of(_value(5)) == FigureStatus.SEMENTARA
    assert not statuses.in_work("2026", "65.02")


# --- who holds an ending code ------------------------------------------------------------------------


def _token(db, instansi: str) -> int:
    with db.transaction() as s:
        return tokens.create_token(s, SYSTEM, tokens.TokenRequest(instansi, ENDING, ("agregat",))).token.id


def test_a_revoked_token_is_not_carried_over_to_the_successor(db):
    kept, revoked = _token(db, "Aplikasi Desa"), _token(db, "Aplikasi Lama")
    with db.transaction() as s:
        tokens.revoke_token(s, SYSTEM, revoked, "diganti")
    with db.read() as s:
        moves = region_holders.token_moves(s, {ENDING: HEIR})
    assert [(m.token_id, m.penerus) for m in moves] == [(kept, HEIR)]


def test_a_token_of_a_code_ended_without_a_successor_stays_bound_to_it(db):
    """Its history still reads under the ended code; no region is guessed for it."""
    token = _token(db, "Aplikasi Desa")
    with db.transaction() as s:
        moves = region_holders.token_moves(s, {ENDING: None})
        region_holders.move(s, SYSTEM, [], moves, "Kepmendagri 1/2026")
    with db.read() as s:
        assert s.get(AgencyToken, token).region_kode == ENDING


# --- a category's template -----------------------------------------------------------------------------


def _template(db, kode: str) -> Workbook:
    with db.read() as s:
        return load_workbook(io.BytesIO(instruments.template(s, kode)))


def _asked(db, kode: str) -> dict[str, str]:
    """Each column the template's guide names, and whether it is required."""
    guide = _template(db, kode)["Petunjuk"]
    start = next(n for n, row in enumerate(guide.iter_rows(values_only=True), 1) if row[0] == "kolom")
    return {row[0]: row[3] for row in guide.iter_rows(min_row=start + 1, values_only=True) if row[0] and row[3]}


def test_a_family_category_requires_the_family_card_and_a_community_its_address_and_attributes(db):
    assert _asked(db, "FM")["no_kk"] == "ya" and _asked(db, "FM")["nik"] == "tidak"
    community = _asked(db, "KAT")
    assert community == {
        "nama": "ya",
        "alamat": "tidak",
        "kategori": "ya",
        "keterangan": "tidak",
        "jumlah_anggota": "ya",
        "nama_ketua": "ya",
    }


def test_the_data_sheet_keeps_typed_numbers_as_text_and_offers_the_sexes_to_its_last_row(db):
    data = _template(db, "LUT")["Data"]
    header = [c.value for c in data[1]]
    assert [c.value for c in data[2]][header.index("nama")] == "Maria Ingan"  # the filled example
    nik = header.index("nik") + 1
    assert {data.cell(row=r, column=nik).number_format for r in (2, 1001)} == {"@"}
    (choice,) = data.data_validations.dataValidation
    sex = get_column_letter(header.index("jenis_kelamin") + 1)
    assert (choice.formula1, str(choice.sqref), choice.allow_blank) == ('"L,P"', f"{sex}2:{sex}1001", False)


def test_an_unknown_category_has_no_template_and_the_message_names_it(db):
    with db.read() as s, pytest.raises(NotFound, match="'XYZ' tidak dikenal"):
        instruments.template(s, "XYZ")


def test_only_the_examples_name_at_the_examples_address_is_the_left_example():
    assert instruments.is_example({"nama": " Maria Ingan ", "alamat": instruments.ADDRESS.example})
    assert not instruments.is_example({"nama": "Maria Ingan", "alamat": "Jl. Sengkawit No. 4"})


def test_an_attribute_the_template_does_not_describe_is_still_asked_for_and_required():
    """A category given a new required attribute by its administrator: the template asks for it, in words."""
    kind = Category(kode="KX", nama="Uji", satuan="komunitas", atribut_wajib=["luas_wilayah"])
    asked = instruments.columns(kind)[-1]
    assert (asked.name, asked.meaning, asked.required) == ("luas_wilayah", "luas wilayah", True)
