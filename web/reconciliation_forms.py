"""The forms of the year's reconciliation and its determination: opening a year, a regency's review,
the Forum's verdicts, the head's decision, and which revision of a determination to show."""

from __future__ import annotations

from typing import Any

from engine.verification.agency_figures import CARRIED_CHARS, KEY_CHARS
from engine.verification.reconciliation import NOTE_LIMIT
from web.forms import Form, _flag, _int, _one_of, _page_number, _text, is_id


class RevisionForm(Form):
    revisi = _int(load_default=None, allow_none=True)


class ReconciliationOpenForm(Form):
    tahun = _text(4)
    paksa = _flag()


class RegencyReviewForm(Form):
    catatan = _text(2000)


class HeadDecisionForm(Form):
    # No decision is taken for the head: a determination cannot be taken back, so it is chosen.
    keputusan = _one_of(("setuju", "kembalikan"), "")
    alasan = _text(2000)
    nomor_sk = _text(100)
    tanggal_sk = _text(10)


FORUM_LIMIT = 500  # discrepancies on one Forum form


def forum_verdicts(form: Any) -> dict[int, tuple[str, str]]:
    """`putusan_<id>` (terima / kembalikan) and `alasan_<id>` of each discrepancy on the Forum's form."""
    verdicts: dict[int, tuple[str, str]] = {}
    for key in list(form.keys())[: 2 * FORUM_LIMIT + 10]:
        if key.startswith("putusan_") and is_id(key[8:]):
            flag_id = int(key[8:])
            # bounded, but past the rule's limit: a reason too long is refused beside its discrepancy, never cut
            reason = str(form.get(f"alasan_{flag_id}", ""))[: 2 * NOTE_LIMIT]
            verdicts[flag_id] = (str(form.get(key, ""))[:20], reason)
    return verdicts


class AgencyFiguresForm(Form):
    """An agency's file (its name when the file has no `instansi` column), and, to save it, the figures
    as the preview read them with the preview's key."""

    instansi = _text(80)
    baris = _text(CARRIED_CHARS, strip=False)
    kunci = _text(KEY_CHARS)
    nama_berkas = _text(255)
    sha256 = _text(64)


class AgencyWithdrawForm(Form):
    instansi = _text(80)
    alasan = _text(500)
    dilihat = _text(16)  # the key of the figures the page showed


class AgencyUndoForm(Form):
    unggahan = _int(required=True)
    alasan = _text(500)


class AgencyListForm(Form):
    lihat = _text(80)
    halaman = _page_number()
