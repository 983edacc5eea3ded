"""The API's request and response bodies, as marshmallow schemas (the OpenAPI document is made from
them). Requests refuse unknown fields; every text is bounded and free of control characters, and a
query's codes have their shape here; a row's values are then checked by the engine's own rules
(`row_rules`), so that nothing odd reaches the database."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.quality import row_rules
from engine.verification.exchange import MAX_ROWS
from models import NikStatus, RecordStatus, Tier

MAX_PAGE = 100_000
MAX_PAGE_SIZE = 500


class Pattern(validate.Regexp):
    """A regular expression the whole value must match (`re.match` would let a trailing newline through).
    The OpenAPI document shows it as the field's `pattern`."""

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or re.fullmatch(str(self.regex.pattern), value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _within_the_register(value: Any) -> None:
    """A moment the register's times can be compared with (year 1 at +14:00 is no UTC instant at all)."""
    if not 1900 <= value.year <= 2100:
        raise ValidationError("tahun 1900 sampai 2100")


def _no_control(value: str) -> None:
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise ValidationError("tidak boleh berisi karakter kendali")


REGION = Pattern(
    r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$", error="kode wilayah Kemendagri, mis. 65.01 atau 65.01.01.2005"
)
PERIOD = Pattern(r"^[0-9]{4}(-(Q[1-4]|S[12]))?$", error="periode YYYY, YYYY-Qn atau YYYY-Sn, mis. 2026-Q4")
CATEGORY = Pattern(r"^[A-Z0-9]{1,10}$", error="kode kategori, mis. LUT")


def text(max_length: int, required: bool = False, pattern: Pattern | None = None, **kw: Any) -> fields.Str:
    checks: list[Any] = [validate.Length(max=max_length, error=f"paling banyak {max_length} karakter"), _no_control]
    if pattern is not None:
        checks.append(pattern if required else _or_empty(pattern))
    if required:
        return fields.Str(required=True, validate=checks, **kw)
    return fields.Str(load_default="", validate=checks, **kw)


def _or_empty(pattern: Pattern) -> Pattern:
    """An optional field's pattern admits its default, "" (left out, or sent empty: `?wilayah=`)."""
    return Pattern(f"^(?:{str(pattern.regex.pattern)[1:-1]})?$", error=pattern.error)


class Request(Schema):
    """A request's query or body: unknown fields are refused, not ignored."""

    class Meta:
        unknown = RAISE


class PageArgs(Request):
    page = fields.Int(
        load_default=1,
        validate=validate.Range(1, MAX_PAGE, error=f"halaman 1 sampai {MAX_PAGE}"),
        metadata={"description": "halaman, mulai dari 1"},
    )
    page_size = fields.Int(
        load_default=100,
        validate=validate.Range(1, MAX_PAGE_SIZE, error=f"1 sampai {MAX_PAGE_SIZE} baris per halaman"),
        metadata={"description": f"baris per halaman (paling banyak {MAX_PAGE_SIZE})"},
    )


class FigureArgs(PageArgs):
    wilayah = text(13, pattern=REGION, metadata={"description": "wilayah dan wilayah di bawahnya"})
    kategori = text(10, pattern=CATEGORY)
    periode = text(10, pattern=PERIOD)
    tingkat = fields.Str(load_default="", validate=validate.OneOf(["", *[t.value for t in Tier]]))


class StatusArgs(Request):
    periode = text(10, required=True, pattern=PERIOD)
    wilayah = text(13, pattern=REGION, metadata={"description": "bawaan: wilayah token"})


class RecordArgs(PageArgs):
    wilayah = text(13, pattern=REGION)
    kategori = text(10, pattern=CATEGORY)
    status = fields.Str(load_default=RecordStatus.AKTIF.value, validate=validate.OneOf([s.value for s in RecordStatus]))
    diperbarui_sejak = fields.AwareDateTime(
        load_default=None,
        validate=_within_the_register,
        metadata={"description": "ISO 8601 dengan zona waktu, mis. 2026-10-01T00:00:00+08:00"},
    )


class RecordSearch(RecordArgs):
    """A search by NIK, sent in the body: a number in an address stays in proxies' access logs."""

    nik = text(
        16,
        required=True,
        pattern=Pattern(r"^[0-9]{16}$", error="16 angka"),
        metadata={"description": "hanya token NIK lengkap; setiap pencarian tercatat di jejak audit"},
    )


class PageInfo(Schema):
    page = fields.Int(required=True)
    page_size = fields.Int(required=True)
    total = fields.Int(required=True)
    pages = fields.Int(required=True)


class FigureOut(Schema):
    kode_wilayah = fields.Str(required=True)
    nama_wilayah = fields.Str(required=True)
    tingkat = fields.Str(required=True)
    kode_kategori = fields.Str(required=True)
    nama_kategori = fields.Str(required=True)
    jenis = fields.Str(required=True, metadata={"description": "PPKS atau PSKS"})
    satuan = fields.Str(required=True, metadata={"description": "individu, keluarga, komunitas, lembaga"})
    periode = fields.Str(required=True)
    nilai = fields.Int(required=True)
    sumber = fields.Str(required=True)
    status = fields.Str(
        required=True,
        metadata={
            "description": "ditetapkan (the year's official figure), terverifikasi (every submission of its "
            "period within its region decided) or sementara (some still in work: a late approval can change it)"
        },
        validate=validate.OneOf(["sementara", "terverifikasi", "ditetapkan"]),
    )
    diperbarui = fields.AwareDateTime(required=True)


class FigurePage(Schema):
    data = fields.List(fields.Nested(FigureOut), required=True)
    halaman = fields.Nested(PageInfo, required=True)


class StatusOut(Schema):
    kode = fields.Str(required=True)
    nama = fields.Str(required=True)
    expected = fields.Int(required=True, metadata={"description": "desa/kelurahan yang wajib melapor"})
    submitted = fields.Int(required=True)
    on_time = fields.Int(required=True)
    late = fields.Int(required=True)
    verified = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)
    not_reported = fields.Int(required=True)


class StatusList(Schema):
    periode = fields.Str(required=True)
    wilayah = fields.Str(required=True)
    data = fields.List(fields.Nested(StatusOut), required=True)


class NikOut(Schema):
    status = fields.Str(required=True, validate=validate.OneOf([s.value for s in NikStatus]))
    checked_at = fields.AwareDateTime(allow_none=True, required=True)
    berbeda = fields.List(fields.Str(), required=True)


class DtsenOut(Schema):
    desil = fields.Int(required=True)
    program = fields.List(fields.Str(), required=True)
    via = fields.Str(required=True, metadata={"description": "nik, atau kk bila hanya kartu keluarga yang cocok"})


class RecordOut(Schema):
    id = fields.Int(required=True)
    kode_desa = fields.Str(required=True)
    kategori = fields.Str(required=True)
    nik = fields.Str(required=True, metadata={"description": "disamarkan kecuali token boleh melihat NIK lengkap"})
    nik_lengkap = fields.Bool(required=True)
    no_kk = fields.Str(required=True)
    nama = fields.Str(required=True)
    jenis_kelamin = fields.Str(allow_none=True, required=True)
    tanggal_lahir = fields.Str(allow_none=True, required=True)
    alamat = fields.Str(required=True)
    status = fields.Str(required=True)
    versi = fields.Int(required=True)
    diperbarui = fields.AwareDateTime(required=True)
    status_nik = fields.Nested(NikOut, required=True)
    dtsen = fields.Nested(DtsenOut, allow_none=True, required=True)


class RecordPage(Schema):
    data = fields.List(fields.Nested(RecordOut), required=True)
    halaman = fields.Nested(PageInfo, required=True)


class AgencyRow(Request):
    kategori = text(10, required=True)
    kode_wilayah = text(13, required=True)
    periode = text(10, required=True)
    nilai = fields.Int(required=True, strict=True, validate=validate.Range(0, 10_000_000, error="0 sampai 10.000.000"))


def _rows(nested: type[Schema]) -> fields.List:
    return fields.List(
        fields.Nested(nested),
        required=True,
        validate=validate.Length(1, MAX_ROWS, error=f"1 sampai {MAX_ROWS} baris"),
    )


class AgencyFiguresIn(Request):
    baris = _rows(AgencyRow)


class AgencyFiguresOut(Schema):
    instansi = fields.Str(required=True)
    baris = fields.Int(required=True)
    baru = fields.Int(required=True)
    tanda = fields.List(fields.Dict(), required=True, metadata={"description": "selisih dengan angka Dinas Sosial"})


class ItemRow(Request):
    nik = text(16, required=True)
    no_kk = text(16)
    nama = text(160, required=True)
    jenis_kelamin = text(1)
    tanggal_lahir = text(10, metadata={"description": "YYYY-MM-DD"})
    alamat = text(row_rules.TEXT_CHARS)  # the bound a form or a file has too
    kategori = text(10, required=True)
    keterangan = text(row_rules.TEXT_CHARS)


class ItemsIn(Request):
    baris = _rows(ItemRow)


class ItemsOut(Schema):
    pengajuan = fields.Int(required=True)
    baris = fields.Int(required=True)
    baru = fields.Int(required=True)
    diperbarui = fields.Int(required=True)
    tidak_berubah = fields.Int(required=True, metadata={"description": "baris yang dikirim lagi persis sama"})


class ProblemDetail(Schema):
    pesan = fields.Str(required=True)
    lokasi = fields.Str()
    kolom = fields.Str()
    baris = fields.Int()


class ProblemOut(Schema):
    """RFC 9457 problem details; `masalah` names each fault (field, row) when there are several."""

    type = fields.Str(required=True)
    title = fields.Str(required=True)
    status = fields.Int(required=True)
    detail = fields.Str(required=True)
    instance = fields.Str()
    masalah = fields.List(fields.Nested(ProblemDetail))


class DecreeOut(Schema):
    nomor = fields.Str(required=True, metadata={"description": "nomor surat keputusan penetapan"})
    tanggal = fields.Str(required=True, metadata={"description": "tanggal surat keputusan, YYYY-MM-DD"})


class DeterminationOut(Schema):
    id = fields.Int(required=True)
    tahun = fields.Int(required=True)
    revisi = fields.Int(required=True, metadata={"description": "0 penetapan pertama; n revisi ke-n"})
    wilayah = fields.Str(required=True)
    hash = fields.Str(required=True, metadata={"description": "SHA-256 atas serialisasi kanonik isi penetapan"})
    hash_sah = fields.Bool(
        required=True,
        allow_none=True,
        metadata={"description": "isi masih sesuai hash-nya; null dalam daftar (diperiksa pada /determinations/TAHUN)"},
    )
    decree = fields.Nested(DecreeOut, required=True)
    approved_by = fields.Str(required=True)
    approved_at = fields.Str(required=True)
    menggantikan = fields.Int(allow_none=True, required=True)
    alasan_revisi = fields.Str(allow_none=True, required=True)
    jumlah_catatan = fields.Int(required=True)
    totals = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)


class DeterminationList(Schema):
    data = fields.List(fields.Nested(DeterminationOut), required=True)


class DeterminedFigure(Schema):
    wilayah = fields.Str(required=True)
    kategori = fields.Str(required=True)
    nilai = fields.Int(required=True)


class RegencyReporting(Schema):
    periode = fields.Str(required=True)
    kode = fields.Str(required=True, metadata={"description": "kode kabupaten/kota"})
    diharapkan = fields.Int(required=True, metadata={"description": "desa/kelurahan yang diminta melapor"})
    melapor = fields.Int(required=True, metadata={"description": "yang mengajukan, termasuk laporan nihil"})
    tidak_melapor = fields.Int(
        required=True, metadata={"description": "yang ditandai tidak melapor saat siklus ditutup"}
    )
    disahkan = fields.Int(required=True, metadata={"description": "yang disetujui provinsi"})
    terbuka = fields.Bool(
        required=True, metadata={"description": "siklus belum ditutup saat ditetapkan: yang belum melapor masih bisa"}
    )


class DeterminationDetail(DeterminationOut):
    data = fields.List(fields.Nested(DeterminedFigure), required=True, metadata={"description": "di wilayah token"})
    kelengkapan = fields.List(
        fields.Nested(RegencyReporting),
        required=True,
        metadata={
            "description": "desa yang melapor per kabupaten/kota dan siklus tahun itu, di wilayah token; angka "
            "kabupaten/kota yang tidak satu desa pun melapor bukan hitungan tahun itu (kosong bila dibekukan "
            "sebelum kelengkapan disimpan)"
        },
    )
