"""A household's address keyed several ways is one address; different places stay different."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quality.addresses import MOST_TOLD, address_of, distinct


@pytest.mark.parametrize(
    "written",
    [
        ["RT 003 RW 001", "Rt.3/Rw.1", "RT. 03 / RW. 01", "rt 003 rw 001"],
        ["Jl. Mulawarman No. 5 RT 003 RW 001", "Jalan Mulawarman No.5 Rt.3/Rw.1"],
        ["Jl. Mulawarman RT 3 RW 1", "Jalan Mulawarman No.5 RT 3 RW 1", "RT 3 RW 1"],  # less said, not other
        ["Gg. Damai RT 12", "Gang Damai, RT 012"],
        ["Desa Sekatak Buji RT 2", "RT 02"],
        ["JL. YOS SUDARSO", "Jl. Yos Sudarso", "jl yos  sudarso"],
        ["RT/RW 003/001", "RT 003 RW 001", "RT/RW: 03/01", "Rt.3/Rw.1", "003/001"],  # as the KTP prints it
        ["Jl. Mulawarman 5", "Jl. Mulawarman No. 5"],
        ["Jl. Sengkawit No. 71 RT 023 RW 002", "RT 23 RW 2 Desa Ma' Libu"],  # the street left out, the desa added
        ["Jl. Sengkawit No. 5 RT 3 RW 1", "Dusun 2 RT 003 RW 001", "Dusun II RT 3 RW 1"],  # the dusun added
        # as the KTP labels it ("Kel/Desa"), and with the dusun not known ("Dusun -")
        [
            "Jl. Mulawarman No. 5 RT/RW 003/001 Kel/Desa Karang Anyar",
            "Jl. Mulawarman No. 5 RT 3 RW 1 Kel. Karang Anyar",
        ],
        ["RT 3 RW 1 Dusun -", "RT 3 RW 1 Dusun Maju"],
        ["Desa Sekatak Buji Jl. Poros RT 3", "Jl. Poros RT 3 Desa Sekatak Buji"],  # the place's name before the street
        ["Gg. III No. 5", "Gang 3 No. 5"],
        ["RT 003/001", "RT 3 RW 1"],
        ["Perum Korpri Blok A1 No. 5", "Perumahan Korpri Blok A1 No.5"],
    ],
)
def test_one_address_keyed_several_ways_is_one(written):
    assert len(distinct(written)) == 1


@pytest.mark.parametrize(
    "written",
    [
        ["RT 1 RW 3", "RT 3 RW 1"],  # the same numbers, other places
        ["RT 1", "RT 2 RW 1"],
        ["Jl. A", "Jl. B"],
        ["Jl. Mulawarman No. 5", "Jl. Mulawarman No. 7"],
        ["Jl. Mulawarman RT 3", "Jl. Sengkawit RT 3"],
        ["RT/RW 003/001", "RT 001 RW 003"],
        ["RT 003 RW 001", "005/002"],
        # the number of a gang, a blok or a kilometre is not the house's
        ["Jl. Mulawarman Gg. 3 No. 5", "Jl. Mulawarman Gg. 3 No. 7"],
        ["Perum Korpri Blok 3 No. 5", "Perum Korpri Blok 3 No. 9"],
        ["Jl. Poros Trans Kaltara Km. 12 No. 5", "Jl. Poros Trans Kaltara Km. 12 No. 8"],
        ["Jl. Mulawarman 5 No. 7", "Jl. Mulawarman No. 5"],  # a number said as the house's wins over a guess
        ["RT 003/001", "RT 3 RW 2"],
        ["Perum Korpri Blok A1 No. 5", "Perum Korpri Blok A2 No. 5"],  # a block's letter and number
        ["Kel/Desa Karang Anyar", "Kelurahan Karang Harapan"],  # the KTP's label and another kelurahan
        ["Jl. Mulawarman 5", "Jl. Mulawarman No. 7"],  # a house number with or without its label
        ["Jl. Mulawarman Gg. Damai", "Jl. Damai Gg. Mulawarman"],  # the same words in another order
        ["Jl. Mulawarman Gg. Damai", "RT 1", "RT 2"],  # each agrees with the street, not with the other
        ["Dusun 1 RT 3", "Dusun 2 RT 3"],
        ["Desa Gunung Putih RT 3", "Desa Ma' Libu RT 3"],
    ],
)
def test_different_places_stay_different(written):
    assert len(distinct(written)) == 2


@pytest.mark.parametrize(
    "written",
    [
        ["RT 3 RW 1", "Jl. Sengkawit No. 10"],  # the RT of that house, or another place: not said
        ["RT 3 RW 1", "Desa Tanjung Palas Hilir"],  # the desa's name is every household's
        ["RT 1", "RW 1"],
    ],
)
def test_writings_that_share_nothing_to_compare_are_not_an_alarm(written):
    assert len(distinct(written)) == 1


def test_numbers_belong_to_their_label_and_lose_their_leading_zeros():
    read = address_of("Jl. Mulawarman No. 05, RT.003/RW.001 Kel. Karang Anyar")
    assert dict(read.numbers) == {
        "nomor": "5",
        "rt": "3",
        "rw": "1",
        "desa": "karang anyar",
    }  # desa or kelurahan: one place
    assert read.words == ("jalan", "mulawarman")
    assert dict(address_of("Dusun II RT 3").numbers) == {"dusun": "2", "rt": "3"}  # a Roman numeral read as one


def test_empty_addresses_are_not_an_address():
    assert distinct(["", "  ", "-", "/"]) == []


def test_a_card_at_thousands_of_addresses_stops_counting_past_the_most_told():
    assert len(distinct([f"RT {i} RW {i}" for i in range(5000)])) == MOST_TOLD + 1


@given(st.lists(st.text(max_size=40), max_size=8))
def test_any_text_is_read_and_counted_no_more_than_written(written):
    assert len(distinct(written)) <= len(written)
