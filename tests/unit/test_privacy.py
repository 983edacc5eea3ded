"""One mask for a NIK or family card number, wherever it stands: its serial hidden with its birth date."""

from __future__ import annotations

import pytest

from engine.people.privacy import mask_nik, mask_personal

NIK = "6501015705500001"


def test_a_number_in_a_field_and_in_a_text_are_masked_alike():
    assert mask_nik(NIK) == "650101**********"
    said = mask_personal({"nik": NIK, "alasan": f"NIK {NIK} tertukar dengan 65010157055000019"})
    assert said["nik"] == "650101**********"
    # a NIK typed with a digit too many or too few still tells a birth date and serial: masked too
    assert said["alasan"] == "NIK 650101********** tertukar dengan 650101***********"
    assert mask_personal("NIK 650101570550000 kurang satu angka") == "NIK 650101********* kurang satu angka"


def test_a_number_written_in_groups_in_a_text_is_masked_too():
    for written in (
        "6501 0157 0550 0001",
        "6501-0157-0550-0001",
        "650101.570550.0001",
        "650101 - 570550 - 0001",
        "6501/0157/0550/0001",
        "6501_0157_0550_0001",
        "6501\u00a0\u00a00157 0550 0001",
    ):
        assert mask_personal({"alasan": f"NIK {written} tertukar"})["alasan"] == "NIK 650101********** tertukar"
    for harmless in (
        "telepon 0812 3456 7890",
        "Rp 1.250.000 untuk 3 orang",
        "tanggal 2026-11-30",
        "01/01/2026 - 31/12/2026",
        "Hubungi 081234567890, 081298765432",
        "HP 0812-3456-7890 / 0813-1111-2222",
        "Bantuan tahun 2022, 2023, 2024, 2025",
        "tahun 2022 / 2023 / 2024 / 2025",
        "anggaran 150.000.000, 250.000.000",
        "koordinat 117.123456, 116.654321",
        "jumlah per triwulan: 1200 / 1350 / 1420 / 1515",
        "100\n200\n300\n400\n500",
    ):
        assert mask_personal({"catatan": harmless})["catatan"] == harmless


def test_a_number_written_against_a_word_is_masked_too():
    assert mask_personal("NIK6501015705500001 ganda") == "NIK650101********** ganda"
    assert mask_personal("KK6501015705500001") == "KK650101**********"


def test_a_content_hash_keeps_its_digits():
    digest = "3fdba35f04dc8c462986c992bcf875546123456789a909c162f7e470e581e278"  # 15 digits inside a hex word
    assert mask_personal({"hash": digest, "berkas": f"sha256 {digest}"}) == {
        "hash": digest,
        "berkas": f"sha256 {digest}",
    }


@pytest.mark.parametrize(
    "text",
    [
        "NIK/KK 65010144056000316501014405600032",  # a NIK and a KK run together: 32 digits, no hash
        "catatan 6501014405600031abcdef0123456789",  # a NIK against hex-looking letters
        "abcdef01234567896501014405600031",  # and after them
        "a6501014405600031bcdef0123456789ab",  # inside letters, but 34 long: no digest is
    ],
)
def test_a_nik_is_never_kept_whole_because_it_looks_like_a_hash(text):
    assert "6501014405600031" not in mask_personal(text, "alasan")


def test_a_nik_a_sheet_read_as_a_number_with_a_decimal_point_is_masked():
    assert mask_personal({"catatan": 6501014405600031.0}) == {"catatan": "650101**********"}
    assert mask_personal({"jumlah": 12.5, "rasio": float("inf")}) == {"jumlah": 12.5, "rasio": float("inf")}
