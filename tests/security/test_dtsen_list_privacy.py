"""The desa operator's DTSEN list ("residents of deciles 1-2 in no PPKS category") must not change with
registrations in other desa: a resident who drops off the list without being entered here has been
registered somewhere else in the province (perhaps as ODHA or NAPZA), which the operator is never to
learn (`duplicates.ELSEWHERE_RULES`: "an import would otherwise tell them ... which NIKs belong to
people receiving social-welfare services anywhere in the province")."""

from __future__ import annotations

from datetime import date

from engine.quality.nik import compose
from models import DtsenEntry
from tests.factories import open_with_items, register_record

ELSEWHERE = "65.01.02.2001"  # Long Beluah, another kecamatan
RESIDENT = compose("65.01.01", date(1980, 3, 9), "L", 77)  # lives in Gunung Putih


def test_the_operators_dtsen_list_does_not_tell_that_a_resident_is_registered_in_another_desa(db, people, signed_in):
    submission = open_with_items(db)
    with db.transaction() as s:
        s.add(DtsenEntry(nik=RESIDENT, no_kk=None, desil=1, program=["PKH"], region_kode="65.01.01.2005"))
    operator = signed_in("op.desa")
    before = operator.get(f"/desa/pengajuan/{submission}").get_data(as_text=True)
    assert RESIDENT in before  # the operator's own resident, for the village deliberation
    with db.transaction() as s:  # the person is then registered in another desa, in a sensitive category
        s.add(register_record(9, kode_desa=ELSEWHERE, kategori="ODHA", nik=RESIDENT, jenis_kelamin="L"))
    after = operator.get(f"/desa/pengajuan/{submission}").get_data(as_text=True)
    assert RESIDENT in after, "the resident left the list: the operator learns they are registered elsewhere"
