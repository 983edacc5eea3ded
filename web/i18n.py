"""Words the pages show from data (role names, tiers), marked here so that they are translated."""

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_app_context
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l
from jinja2.runtime import Context
from jinja2.utils import pass_context
from markupsafe import Markup

from web import engine_messages

# Status and decision words as pages show them; lazy, so that each is translated only when shown.
STATUS_LABELS = {
    "draf": _l("draf"),
    "diajukan": _l("diajukan"),
    "dikembalikan": _l("dikembalikan"),
    "terverifikasi": _l("terverifikasi"),
    "tidak_melapor": _l("tidak melapor"),
    "terbuka": _l("terbuka"),
    "selesai": _l("selesai"),
    "dibatalkan": _l("dibatalkan"),
    "setuju": _l("disetujui"),
    "kembalikan": _l("dikembalikan"),
    "ajukan": _l("diajukan"),
    "sesuai": _l("sesuai"),
    "tidak_sesuai": _l("tidak sesuai"),
    "diakui": _l("diakui"),
    "dijelaskan": _l("dijelaskan"),
    "padan": _l("padan"),
    "tidak_padan": _l("tidak padan"),
    "meninggal": _l("meninggal"),
    "belum_dicek": _l("belum diperiksa"),
    "aktif": _l("aktif"),
    "dicabut": _l("dicabut"),
    "kedaluwarsa": _l("kedaluwarsa"),
    "berjalan": _l("berjalan"),
    "gagal": _l("gagal"),
    "belum dibuka": _l("belum dibuka"),  # a year's reconciliation not yet opened
    # a change to the list of regions
    "baru": _l("baru"),
    "ganti_nama": _l("berganti nama"),
    "berakhir": _l("berakhir"),
    "berlaku_lagi": _l("berlaku lagi"),
    # an agency's figure beside the one stored (`baru` as above)
    "berubah": _l("berubah"),
    "sama": _l("sama"),
    # a published figure: still counting submissions in work, or every one decided (`terverifikasi`)
    "sementara": _l("sementara"),
    "ditetapkan": _l("ditetapkan"),
}
# The scheduled jobs, as the admin's job history names them beside their codes.
JOB_LABELS = {
    "timer_bpmn": _l("Batas waktu tugas (timer BPMN)"),
    "siklus": _l("Kalender siklus pemutakhiran"),
    "rekonsiliasi": _l("Kalender rekonsiliasi tahunan"),
    "angka_periode": _l("Angka Dinas Sosial per periode siklus"),
    "dukcapil": _l("Pemadanan Dukcapil"),
    "percobaan_masuk": _l("Pembersihan percobaan masuk"),
    "riwayat_tugas": _l("Pembersihan riwayat tugas terjadwal"),
    "impor": _l("Impor berkas"),
    "impor_macet": _l("Impor yang macet"),
    "surel": _l("Pengiriman surel"),
    "ringkasan_harian": _l("Ringkasan harian"),
}

# What each check is called on a page; a rule's id never reaches one.
RULE_LABELS = {
    "lonjakan": _l("lonjakan"),
    "penurunan": _l("penurunan tajam"),
    "turun_ke_nol": _l("turun ke nol"),
    "naik_dari_nol": _l("naik dari nol"),
    "tetap": _l("angka tidak berubah"),
    "salin": _l("angka kembar antarwilayah"),
    "porsi": _l("porsi wilayah bergeser"),
    "total": _l("jumlah tidak cocok"),
    "instansi": _l("rasio dengan instansi lain berubah"),
    "selisih_instansi": _l("selisih dengan instansi lain"),
    "periode_hilang": _l("periode tidak ada"),
    # rules of earlier releases, while their flags remain
    "rasio": _l("perubahan antarperiode"),
    "z_robust": _l("pencilan"),
    "rate": _l("angka per penduduk"),
    "nol": _l("angka nol"),
    # what other registers said
    "dukcapil": _l("tidak padan dengan Dukcapil"),
    "dtsen_fm_tidak_ada": _l("fakir miskin tidak ada di DTSEN"),
    "dtsen_desil_tinggi": _l("desil DTSEN tinggi"),
    "dtsen_desil_rendah": _l("desil DTSEN rendah tanpa kategori"),
}

SEVERITY_LABELS = {"error": _l("galat"), "warning": _l("peringatan"), "info": _l("informasi")}

VERVAL_LABELS = {
    "layak": _l("ditemukan, masih layak"),
    "tidak_layak": _l("ditemukan, tidak layak lagi"),
    "meninggal": _l("meninggal"),
    "pindah": _l("pindah"),
    "tidak_ditemukan": _l("tidak ditemukan"),
    "ganda": _l("ganda"),
}

# What an item does to the register, in the operator's words.
ACTION_LABELS = {
    "tambah": _l("baru"),
    "ubah": _l("perbaikan"),
    "hapus": _l("dihapus dari register"),
    "periksa": _l("diperiksa ulang"),
}

ROLE_LABELS = {
    "operator": _l("operator desa"),
    "verifier": _l("verifikator"),
    "validator": _l("validator"),
    "admin": _l("admin"),
    "auditor": _l("auditor"),
    "walidata": _l("walidata"),
    "forum_sdi": _l("Forum SDI"),
    "kepala_dinas": _l("kepala dinas"),
}

# The fields people fill, by the names problems carry (never shown as keys).
FIELD_LABELS = {
    "nik": _l("NIK"),
    "no_kk": _l("Nomor KK"),
    "nama": _l("Nama"),
    "jenis_kelamin": _l("Jenis kelamin"),
    "tanggal_lahir": _l("Tanggal lahir"),
    "alamat": _l("Alamat"),
    "kategori": _l("Kategori"),
    "keterangan": _l("Keterangan"),
    "alasan": _l("Alasan"),
    "tujuan": _l("Tujuan pindah"),
    "verval": _l("Verval register"),
    "aksi": _l("Tindakan"),
    "disisihkan": _l("Disisihkan"),
    "tujuan_pindah": _l("Tujuan pindah"),
    "nihil": _l("Laporan nihil"),
    "berita_acara": _l("Berita acara"),
    "berkas": _l("Berkas"),
    "catatan": _l("Catatan"),
    "baris": _l("Baris"),
    "tidak_diperiksa": _l("Pernyataan tidak diperiksa"),
    "nomor_sk": _l("Nomor SK"),
    "tanggal_sk": _l("Tanggal SK"),
    "sumber_daya": _l("Jenis data"),
    "wilayah": _l("Wilayah"),
    "region": _l("Wilayah"),
    "username": _l("Nama pengguna"),
    "password": _l("Kata sandi"),
    "role": _l("Peran"),
    "instansi": _l("Instansi"),
    "periode": _l("Periode"),
    "halaman": _l("Halaman"),
    "kiri": _l("Versi kiri"),
    "kanan": _l("Versi kanan"),
    "putusan": _l("Putusan item"),
    "kode_desa": _l("Kode desa"),
    "dasar_wilayah": _l("Dasar perubahan wilayah"),
    "status": _l("Status"),
    "alasan_hapus": _l("Alasan dihapus dari register"),
    "atribut": _l("Atribut kategori"),
}
# fields named after a row of the page: the reason for discrepancy 12, the note on flag 12
NUMBERED_FIELDS = {"alasan_": _l("Alasan"), "putusan_": _l("Putusan"), "tanda_": _l("Tanda"), "verdict_": _l("Putusan")}

# what each audited action was, in words beside its code (the code is what the export and the chain carry)
AUDIT_ACTION_LABELS = {
    "USER_CREATED": _l("pengguna dibuat"),
    "USER_PASSWORD_SET": _l("kata sandi ditetapkan"),
    "USER_PASSWORD_CHANGED": _l("kata sandi diganti"),
    "USER_LOGGED_IN": _l("masuk"),
    "USER_SIGN_IN_FAILED": _l("kata sandi salah"),
    "USER_ACTIVATED": _l("pengguna diaktifkan"),
    "USER_DEACTIVATED": _l("pengguna dinonaktifkan"),
    "USER_LOGGED_OUT": _l("keluar"),
    "USER_UNLOCKED": _l("kunci masuk dibuka"),
    "USER_EMAIL_SET": _l("alamat surel diubah"),
    "ROLE_ASSIGNED": _l("peran diberikan"),
    "ROLE_REMOVED": _l("peran dicabut"),
    "DEFINITION_DEPLOYED": _l("versi proses dipasang"),
    "DEFINITION_ACTIVATED": _l("versi proses diaktifkan"),
    "INSTANCE_MIGRATED": _l("instans dipindah versi"),
    "INSTANCE_RETRIED": _l("instans dicoba lagi"),
    "SUBMISSION_OPENED": _l("pengajuan dibuka"),
    "SUBMISSION_IMPORTED": _l("pengajuan diimpor"),
    "SUBMISSION_CHECK_FAILED": _l("pemeriksaan otomatis gagal"),
    "SUBMISSION_RETURNED": _l("pengajuan dikembalikan"),
    "SUBMISSION_VERIFIED": _l("pengajuan terverifikasi"),
    "SUBMISSION_NOT_REPORTED": _l("pengajuan tidak dilaporkan"),
    "ITEM_ADDED": _l("item ditambahkan"),
    "ITEM_UPDATED": _l("item diubah"),
    "ITEM_DELETED": _l("item dihapus"),
    "ITEM_REMOVAL_PROPOSED": _l("penghapusan catatan diusulkan"),
    "ITEM_VERVAL_SET": _l("status verval ditetapkan"),
    "ITEM_DISCARDED": _l("item disisihkan"),
    "ITEM_RESTORED": _l("item dikembalikan"),
    "SUBMISSION_DECLARED": _l("pernyataan desa"),
    "MINUTES_ATTACHED": _l("berita acara dilampirkan"),
    "TASK_CLAIMED": _l("tugas diklaim"),
    "TASK_UNCLAIMED": _l("klaim dilepas"),
    "TASK_RELEASED": _l("klaim dibebaskan"),
    "VERDICTS_SAVED": _l("putusan item disimpan"),
    "TASK_COMPLETED": _l("tugas diselesaikan"),
    "TASK_OVERDUE": _l("tugas terlambat"),
    "TIMER_FAILED": _l("pewaktu gagal"),
    "RECORD_CREATED": _l("catatan dibuat"),
    "RECORD_UPDATED": _l("catatan diubah"),
    "RECORD_REMOVED": _l("catatan dikeluarkan"),
    "RECORD_REVERIFIED": _l("catatan diverifikasi ulang"),
    "RECORD_MOVED": _l("catatan pindah ke desa penerus"),
    "REGIONS_UPDATED": _l("daftar wilayah diperbarui"),
    "NIK_VIEWED": _l("NIK lengkap dilihat"),
    "NIK_SEARCHED": _l("catatan dicari dengan NIK"),
    "RECORDS_DISCLOSED": _l("catatan dibaca instansi lewat API (NIK disamarkan)"),
    "TRAIL_VIEWED": _l("riwayat dilihat"),
    "TRAIL_EXPORTED": _l("jejak audit diekspor"),
    "FLAG_ACKNOWLEDGED": _l("tanda diakui"),
    "FLAG_EXPLAINED": _l("tanda dijelaskan"),
    "FLAG_CLOSED": _l("tanda ditutup"),
    "FLAG_REOPENED": _l("tanda dibuka lagi"),
    "FILTER_SAVED": _l("filter disimpan"),
    "QUALITY_THRESHOLD_SET": _l("ambang mutu ditetapkan"),
    "BASELINE_IMPORTED": _l("riwayat angka diimpor"),
    "AGENCY_FIGURES_IMPORTED": _l("angka instansi diimpor"),
    "AGENCY_FIGURES_CONFIRMED": _l("angka instansi dikirim lagi tanpa perubahan"),
    "AGENCY_FIGURES_WITHDRAWN": _l("angka instansi ditarik"),
    "AGENCY_UPLOAD_UNDONE": _l("unggahan angka instansi dibatalkan"),
    "FIGURES_SNAPSHOT_TAKEN": _l("potret angka diambil"),
    "CYCLE_OPENED": _l("siklus dibuka"),
    "CYCLE_CLOSED": _l("siklus ditutup"),
    "CYCLE_RHYTHM_SET": _l("irama siklus ditetapkan"),
    "TOKEN_CREATED": _l("token dibuat"),
    "TOKEN_REVOKED": _l("token dicabut"),
    "TOKEN_MOVED": _l("token pindah ke wilayah penerus"),
    "NIK_CHECKED": _l("NIK diperiksa ke Dukcapil"),
    "DTSEN_IMPORTED": _l("DTSEN diimpor"),
    "INSTANCE_STATE_PRUNED": _l("status instans dipangkas"),
    "RECONCILIATION_OPENED": _l("rekonsiliasi dibuka"),
    "EXPLANATION_ACCEPTED": _l("penjelasan diterima"),
    "EXPLANATION_RETURNED": _l("penjelasan dikembalikan"),
    "DETERMINATION_REFUSED": _l("penetapan ditolak"),
    "DETERMINATION_APPROVED": _l("penetapan disetujui"),
    "DETERMINATION_EXPORTED": _l("penetapan diekspor"),
    "AGENCY_INDICATOR_SET": _l("indikator instansi ditetapkan"),
}

UNIT_LABELS = {
    "individu": _l("perorangan"),
    "keluarga": _l("keluarga (dicatat per KK)"),
    "lembaga": _l("lembaga"),
    "komunitas": _l("komunitas"),
}

ATTRIBUTE_LABELS = {"jumlah_anggota": _l("Jumlah anggota"), "nama_ketua": _l("Nama ketua")}

FLAG_ACTION_LABELS = {
    "jelaskan": _l("Jelaskan: angkanya benar"),
    "akui": _l("Akui: masalah diketahui dan ditangani"),
    "tutup": _l("Tutup: sudah diperbaiki"),
    "buka": _l("Buka lagi"),
}


def _shown(label: Any) -> str:
    """A lazy word in the request's language, translated once per request: a page of 50 inbox rows
    showed the same status word 50 times, each through Flask-Babel's context lookups."""
    if isinstance(label, str) or not has_app_context():
        return str(label)
    words = g.setdefault("_sijosku_words", {})
    found = words.get(id(label))
    if found is None:
        # the label is kept with its word: while it lives, no other object can take its id
        found = words[id(label)] = (label, str(label))
    return str(found[1])


def job_label(job_id: str) -> str:
    return _shown(JOB_LABELS[job_id]) if job_id in JOB_LABELS else job_id


def status_label(value: str | None) -> str:
    return _shown(STATUS_LABELS.get(value or "", value or ""))


OTHER_RULE = _l("pemeriksaan lain")
NOT_YET_CHECKED = _l("belum diperiksa")


def rule_label(rule: str) -> str:
    return _shown(RULE_LABELS.get(rule, OTHER_RULE))


def severity_label(severity: str) -> str:
    return _shown(SEVERITY_LABELS.get(severity, severity))


def verval_label(status: str | None) -> str:
    return _shown(VERVAL_LABELS.get(status or "", NOT_YET_CHECKED))


def action_label(action: str) -> str:
    return _shown(ACTION_LABELS.get(action, action))


TIER_LABELS = {
    "desa": _l("desa/kelurahan"),
    "kecamatan": _l("kecamatan"),
    "kabupaten": _l("kabupaten/kota"),
    "provinsi": _l("provinsi"),
}


def tier_label(tier: str) -> str:
    return _shown(TIER_LABELS.get(tier, tier))


def role_label(role: str) -> str:
    return _shown(ROLE_LABELS.get(role, role))


def field_label(name: str | None) -> str:
    """A problem's field as people know it: `ack_12` is the note on warning 12, `atribut_x` an attribute."""
    if not name:
        return ""
    if name.startswith("ack_"):
        return str(_l("Catatan peringatan"))
    if name.startswith("atribut_"):
        return attribute_label(name[len("atribut_") :])
    prefix, _sep, number = name.rpartition("_")
    if number.isdigit() and f"{prefix}_" in NUMBERED_FIELDS:
        return f"{_shown(NUMBERED_FIELDS[prefix + '_'])} #{number}"
    return _shown(FIELD_LABELS.get(name, name.replace("_", " ")))


def unit_label(unit: str) -> str:
    return _shown(UNIT_LABELS.get(unit, unit))


def attribute_label(name: str) -> str:
    return _shown(ATTRIBUTE_LABELS.get(name, name.replace("_", " ")))


def figure(value: Any) -> str:
    """A flag's figure as people read it: a number, a range "12–30", or a word."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "–".join(figure(v) for v in value)
    if isinstance(value, float):  # every digit of the whole part, never an exponent: 123456.7, not 123457
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


WORDS = [
    _l("operator"),
    _l("verifier"),
    _l("validator"),
    _l("admin"),
    _l("auditor"),
    _l("desa/kelurahan"),
    _l("kecamatan"),
    _l("kabupaten/kota"),
    _l("provinsi"),
]


def compile_catalogs(directory: Path) -> None:
    """Compile each .po into its .mo when the .mo is missing or older: the repository keeps only
    the .po files, and every way of starting the app (run, tests, a WSGI server) gets the catalogs."""
    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source)
        # A temporary file of this process's own: the server and the tests' processes start
        # together on a fresh clone, and a shared temporary name was taken from under one of them.
        with tempfile.NamedTemporaryFile(dir=mo_path.parent, suffix=".mo.tmp", delete=False) as target:
            try:
                write_mo(target, catalog)
            except BaseException:
                Path(target.name).unlink()  # nothing half-written is left beside the catalog
                raise
        Path(target.name).replace(mo_path)


def _request_translations() -> Any:
    """The request's catalog, looked up once per request: Flask-Babel's own lookup goes through
    several context proxies on every word, which was a fifth of the inbox page's time."""
    found = g.get("_sijosku_translations")
    if found is None:
        found = g._sijosku_translations = get_translations()
    return found


@lru_cache(maxsize=4096)
def _fixed_text(catalog: Any, text: str) -> Markup:
    """A page's text without variables, translated and escaped once per catalog: the same few
    hundred texts come back on every page (a task page asks for 259)."""
    return Markup(catalog.ugettext(text)) % {}  # % {}: "%%" reads "%", as in Jinja's own gettext


@pass_context
def _page_gettext(context: Context, text: str, /, **variables: Any) -> str:
    """Jinja's `_()` and `gettext()` (new style: variables are formatted in, escaped), called
    directly rather than through Jinja's two wrappers. Positional-only, as Jinja's own: a text's
    variable may be called `text` or `num`."""
    catalog = _request_translations()
    if not context.eval_ctx.autoescape:
        return str(catalog.ugettext(text)) % variables
    if variables:
        return Markup(catalog.ugettext(text)) % variables
    return _fixed_text(catalog, text)


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = _request_translations().ungettext(singular, plural, num)
    return (Markup(text) if context.eval_ctx.autoescape else str(text)) % variables


def install_fast_gettext(app: Flask) -> None:
    """The pages' `_()`, `gettext()` and `ngettext()` read the request's catalog once (see above)."""
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]  # {% trans %} passes its variables
    app.jinja_env.globals.update(_=_page_gettext, gettext=_page_gettext, ngettext=_page_ngettext)


SCRIPTS = Path(__file__).resolve().parent / "static" / "js"


@lru_cache(maxsize=16)
def _script_texts(name: str) -> tuple[str, ...]:
    """The texts a script of ours writes through its `_()`, read from its source as `make translations` reads them."""
    with (SCRIPTS / name).open("rb") as source:
        found = extract("javascript", source, keywords={"_": None})
        return tuple(dict.fromkeys(text for _line, text, _notes, _context in found if isinstance(text, str)))


def script_words(*names: str) -> dict[str, str]:
    """Each text of the page's scripts `names`, in the request's language: what their `_()` looks up."""
    catalog = _request_translations()
    return {text: catalog.ugettext(text) for name in names for text in _script_texts(name)}


def said(text: Any) -> Any:
    """A message the engine wrote (in Indonesian), in the page's language; see web/engine_messages.py."""
    locale = get_locale()
    if not text or locale is None or locale.language != "en":
        return text
    return engine_messages.english().translate(str(text))


def audit_action_label(action: str) -> str:
    return _shown(AUDIT_ACTION_LABELS[action]) if action in AUDIT_ACTION_LABELS else action
