"""Every form and query string the pages read, validated by one means: marshmallow schemas.

A view calls `parse(Schema, request.form)`; a wrong value becomes `Invalid` with a problem per
field, in Indonesian, which the page shows beside the field. Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate

from engine.core.errors import Invalid, Problem, phrase
from engine.quality import dashboard, review, row_rules
from engine.verification import inbox, register, register_view
from models import FlagStatus, Severity, VervalStatus
from web.access import MAX_ID

# marshmallow's own messages are English; every field here says its refusal in Indonesian, marked
# with `phrase` so that the pages in English find them (web/engine_messages.py reads this file too)
_MESSAGES: dict[str, Any] = {
    "required": phrase("wajib diisi"),
    "null": phrase("wajib diisi"),
    "invalid": phrase("nilai tidak sah"),
}


class _Text(fields.Str):
    """Text with the spaces around it dropped (what people type in a form)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _text(max_length: int = 200, strip: bool = True, **kw: Any) -> fields.Str:
    kind = _Text if strip else fields.Str
    return kind(
        load_default="",
        validate=validate.Length(max=max_length, error=phrase(f"paling banyak {max_length} karakter")),
        error_messages=_MESSAGES,
        **kw,
    )


PAGES = 100000  # the highest page number a list accepts


def _page_number() -> fields.Int:
    """A list's page number, refused in the page's language (marshmallow's own message is English)."""
    return _int(
        load_default=1,
        validate=validate.Range(min=1, max=PAGES, error=phrase(f"harus bilangan bulat 1 sampai {PAGES}")),
    )


def is_id(text: Any) -> bool:
    """An id as a form or a URL may carry one: ASCII digits (not `²`), within the columns' range."""
    text = str(text)
    return text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID


def _int(**kw: Any) -> fields.Int:
    kw.setdefault("validate", validate.Range(min=-MAX_ID, max=MAX_ID, error=phrase("di luar rentang")))
    return fields.Int(error_messages={**_MESSAGES, "invalid": phrase("harus bilangan bulat")}, **kw)


def _period() -> fields.Str:
    """A period filter: empty, or a period as the product writes them (a typo shows no table of zeros)."""
    return _Text(
        load_default="",
        validate=validate.Regexp(
            r"^([0-9]{4}(-(Q[1-4]|S[12]))?)?\Z", error=phrase("periode seperti 2026-Q4, 2026-S2 atau 2026")
        ),
        error_messages=_MESSAGES,
    )


def _flag() -> fields.Bool:
    """A check box: ticked or not."""
    return fields.Bool(load_default=False, error_messages={**_MESSAGES, "invalid": phrase("harus ya atau tidak")})


def _one_of(choices: tuple[str, ...] | list[str], default: str) -> fields.Str:
    return fields.Str(
        load_default=default,
        error_messages=_MESSAGES,
        validate=validate.OneOf(choices, error=phrase(f"pilih salah satu dari: {', '.join(choices)}")),
    )


class Form(Schema):
    LISTS: ClassVar[set[str]] = set()  # fields a form may send several times

    class Meta:
        unknown = EXCLUDE


def _plain(schema: type[Form], data: Any) -> dict[str, Any]:
    if hasattr(data, "getlist"):
        return {k: data.getlist(k) if k in schema.LISTS else data.get(k) for k in data.keys()}
    return dict(data)


def parse(schema: type[Form], data: Any) -> Any:
    """The validated values, or `Invalid` naming each faulty field."""
    try:
        return schema().load(_plain(schema, data))
    except ValidationError as exc:
        problems = [
            Problem("; ".join(_flat(messages)), column=name)
            for name, messages in sorted(exc.normalized_messages().items())
        ]
        raise Invalid("Isian belum benar", problems) from exc


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    return [str(m) for m in (messages if isinstance(messages, list) else [messages])]


class LoginForm(Form):
    username = _text(200)
    password = _text(1000, strip=False)


class PasswordForm(Form):
    current = _text(1000, strip=False)
    new = _text(1000, strip=False)
    repeat = _text(1000, strip=False)


class PasswordResetForm(Form):
    password = _text(1000, strip=False)


class LanguageForm(Form):
    lang = _one_of(("id", "en"), "id")
    next = _text(500)


class ReasonForm(Form):
    alasan = _text(2000)


class VervalForm(Form):
    """A re-verification status for one register record or several (`item_id` repeated)."""

    LISTS: ClassVar[set[str]] = {"item_id"}
    item_id = fields.List(_int(), load_default=list)
    status = fields.Str(
        required=True,
        error_messages=_MESSAGES,
        validate=validate.OneOf([s.value for s in VervalStatus], error=phrase("pilih status verval")),
    )
    alasan = _text(register.REASON_LIMIT)
    tujuan = _text(register.DESTINATION_LIMIT)
    kembali = _text(500)

    @pre_load
    def _ids(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "item_id": [i for i in data.get("item_id", []) if str(i).isascii() and str(i).isdigit()]}


class RegisterFilterForm(Form):
    status = _one_of(register_view.FILTERS, "belum")
    q = _text(register_view.QUERY_LIMIT)
    halaman = _page_number()


class DeclareForm(Form):
    aksi = fields.Str(
        required=True,
        error_messages=_MESSAGES,
        validate=validate.OneOf(("nihil", "bukan_nihil", "tidak_diperiksa", "tarik"), error=phrase("pilih pernyataan")),
    )
    alasan = _text(register.REASON_LIMIT)


class ItemForm(Form):
    """One person's values; `atribut_<name>` fields carry the category's extra attributes."""

    nik = _text(40)
    no_kk = _text(40)
    nama = _text(160)
    jenis_kelamin = _text(1)
    tanggal_lahir = _text(20)
    alamat = _text(row_rules.TEXT_CHARS)  # one bound per column, whichever way a value comes in
    kategori = _text(10)
    keterangan = _text(row_rules.TEXT_CHARS)
    atribut = fields.Dict(keys=fields.Str(), values=fields.Str(), load_default=dict)
    versi = _text(40)  # when the item last changed, as the form was opened (a stale tab is refused)

    @pre_load
    def _attributes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data = dict(data)
        data["atribut"] = {k[len("atribut_") :]: v for k, v in data.items() if k.startswith("atribut_")}
        return data


def _verdicts_of(data: dict[str, Any], verdict: str) -> dict[str, str]:
    """Item id -> reason, for the items given `verdict` in `verdict_<id>` (reason in `alasan_<id>`)."""
    return {
        key[8:]: str(data.get(f"alasan_{key[8:]}", "")).strip()
        for key, value in data.items()
        if key.startswith("verdict_") and is_id(key[8:]) and value == verdict
    }


class VerdictsForm(Form):
    """The verdicts a verifier gives the items of one page of a task (`verdict_<id>`, `alasan_<id>`),
    and the page to return to."""

    tidak_sesuai = fields.Dict(keys=fields.Int(), values=fields.Str(), load_default=dict)
    sesuai = fields.List(fields.Int(), load_default=list)
    tampil = _text(20)
    halaman = _int(load_default=1)

    @pre_load
    def _per_item(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data = dict(data)
        data["tidak_sesuai"] = _verdicts_of(data, "tidak_sesuai")
        data["sesuai"] = list(_verdicts_of(data, "sesuai"))
        if not is_id(data.get("halaman", "1")):
            data["halaman"] = 1
        return data


class DecisionForm(Form):
    """A verifier's decision with the verdicts of the items on the page (`verdict_<id>`,
    `alasan_<id>`) and the note that acknowledges each warning (`ack_<flag id>`)."""

    keputusan = _text(20)
    alasan = _text(2000)
    revisi_instans = _int(load_default=None, allow_none=True)
    tidak_sesuai = fields.Dict(keys=fields.Int(), values=fields.Str(), load_default=dict)
    sesuai = fields.List(fields.Int(), load_default=list)
    pengakuan = fields.Dict(keys=fields.Int(), values=fields.Str(), load_default=dict)

    @pre_load
    def _per_item(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data = dict(data)
        data.setdefault("revisi_instans", data.pop("revisi", ""))  # a task page rendered before the field's rename
        if data.get("revisi_instans", "") == "":
            data["revisi_instans"] = None
        data["tidak_sesuai"] = _verdicts_of(data, "tidak_sesuai")
        data["sesuai"] = list(_verdicts_of(data, "sesuai"))
        data["pengakuan"] = {
            key[4:]: str(value).strip()
            for key, value in data.items()
            if key.startswith("ack_") and is_id(key[4:]) and str(value).strip()
        }
        return data


class ClaimForm(Form):
    LISTS: ClassVar[set[str]] = {"task_id"}
    task_id = fields.List(_int(), load_default=list)
    aksi = _one_of(("klaim", "lepas"), "klaim")
    kembali = _text(500)

    @pre_load
    def _ids(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "task_id": [i for i in data.get("task_id", []) if is_id(i)]}


class BulkApprovalForm(Form):
    """Approve many tasks: the chosen ones (`task_id`), or every open one of a region and period."""

    LISTS: ClassVar[set[str]] = {"task_id"}
    task_id = fields.List(_int(), load_default=list)
    wilayah = _text(20)
    periode = _text(10)
    alasan = _text(2000)
    keputusan = _one_of(("setuju", "kembalikan"), "setuju")
    kembali = _text(500)
    pilihan = _text(10)  # "dipilih": the ticked tasks, even none; otherwise a region and period

    @pre_load
    def _ids(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "task_id": [i for i in data.get("task_id", []) if is_id(i)]}


class InboxFilterForm(Form):
    periode = _text(10)
    wilayah = _text(13)
    status = _one_of(inbox.STATUSES, "terbuka")
    terlambat = _flag()
    urut = _one_of(inbox.SORTS, "tenggat")
    halaman = _page_number()

    @post_load
    def _filter(self, data: dict[str, Any], **_: Any) -> inbox.InboxFilter:
        return inbox.InboxFilter(**data)


class UserForm(Form):
    username = _text(64)
    nama = _text(120)
    email = _text(200)
    role = _text(20)
    region = _text(13)
    password = _text(1000, strip=False)


class EmailForm(Form):
    email = _text(200)


class TokenForm(Form):
    LISTS: ClassVar[set[str]] = {"sumber_daya"}
    instansi = _text(80)
    keterangan = _text(200)
    wilayah = _text(13)
    sumber_daya = fields.List(
        fields.Str(validate=validate.Length(max=40, error=phrase("paling banyak 40 karakter"))),
        load_default=list,
        error_messages=_MESSAGES,
    )
    tulis = _flag()
    nik_lengkap = _flag()
    hari = _int(load_default=365)
    batas_laju = _text(40)


class _Day(fields.Date):
    """A date input's value: empty is none."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = str(value or "").strip()
        return super()._deserialize(text, attr, data, **kwargs) if text else None


class RegionUpdateForm(Form):
    """A new list of regions: its legal basis, the day it takes effect, and (to apply it) the list as
    the preview read it with the preview's key."""

    dasar = _text(200)
    berlaku = _Day(
        load_default=None,
        allow_none=True,
        error_messages={**_MESSAGES, "invalid": phrase("tanggal seperti 2026-12-01")},
    )
    baris = _text(400_000, strip=False)
    kunci = _text(16)


class RevokeForm(Form):
    alasan = _text(500)


class RoleForm(Form):
    role = _text(20)
    region = _text(13)


class ActiveForm(Form):
    aktif = _flag()


class RhythmForm(Form):
    ritme = _text(10)
    hari_buka = _int(load_default=0)
    batas_desa = _int(load_default=0)
    batas_kecamatan = _int(load_default=0)
    batas_kabupaten = _int(load_default=0)
    batas_provinsi = _int(load_default=0)
    pengingat_hari = _int(load_default=3)


class ReadForm(Form):
    id = _int(load_default=None, allow_none=True)
    ke = _text(500)

    @pre_load
    def _blank(self, data: Any, **_: Any) -> dict[str, Any]:
        data = dict(data)
        if not str(data.get("id", "")).strip():
            data["id"] = None
        return data


class RecordSearchForm(Form):
    nik = _text(40)
    nama = _text(160)
    wilayah = _text(13)
    kategori = _text(10)


class DashboardForm(Form):
    wilayah = _text(13)
    kategori = _text(10)
    rule = _one_of(("", *review.RULES), "")
    severity = _one_of(("", *(s.value for s in Severity)), "")
    status = _one_of((*(s.value for s in FlagStatus), "semua"), FlagStatus.TERBUKA.value)
    periode = _period()
    halaman = _page_number()
    induk = _text(13)
    periode_lengkap = _period()

    @post_load
    def _filter(self, data: dict[str, Any], **_: Any) -> dashboard.DashboardFilter:
        flags = review.FlagFilter(
            region_kode=data["wilayah"],
            rule=data["rule"],
            kategori=data["kategori"],
            periode=data["periode"],
            severity=data["severity"],
            status="" if data["status"] == "semua" else data["status"],
        )
        return dashboard.DashboardFilter(flags, data["halaman"], data["induk"], data["periode_lengkap"])


class FlagActionForm(Form):
    aksi = fields.Enum(
        review.FlagAction,
        by_value=True,
        required=True,
        error_messages={**_MESSAGES, "unknown": "pilih salah satu dari: {choices}"},  # marshmallow fills it
    )
    catatan = _text(review.NOTE_LIMIT)
    status_dilihat = _one_of(tuple(s.value for s in FlagStatus), FlagStatus.TERBUKA.value)
    kembali = _text(500)


class CycleStatusForm(Form):
    periode = _text(10)
    induk = _text(13)


class CompareForm(Form):
    kiri = _int(load_default=None, allow_none=True)
    kanan = _int(load_default=None, allow_none=True)


class MigrationForm(Form):
    """Moving a version's running instances to another version: the mapping is one
    `old_element = new_element` per line."""

    dari = _int(required=True)
    ke = _int(required=True)
    peta = _text(20_000, strip=False)
    coba = _flag()


class RetryForm(Form):
    instans = _int(required=True)


class RegionForm(Form):
    """A region with a category (its series) or a period (its figures)."""

    wilayah = _text(13)
    kategori = _text(10)
    periode = _period()


class PublishedHeadForm(Form):
    kepala = _text(100)  # a head published earlier, BARIS:HASH
    lanjut = _text(600)  # where a check in slices stopped, signed by the page that stopped it


class SearchForm(Form):
    q = _text(160)


class PageForm(Form):
    halaman = _page_number()


class InstancePageForm(PageForm):
    halaman_item = _page_number()  # the items' page, beside the events' (`halaman`)


class SubmissionPageForm(PageForm):
    tampil = _text(20)  # the operator's view of the items: entered, set aside, judged not matching


class NextForm(Form):
    next = _text(500)


class CategoryChoiceForm(Form):
    kategori = _text(10)
    kembali = _text(500)  # the page the form was opened from (the register's page and filter), to go back to


class FilterNameForm(Form):
    nama = _text(200)


class PreferencesForm(Form):
    """Each box `<event>:<channel>` ticked (value "1") or not."""

    chosen = fields.Dict(keys=fields.Str(), values=fields.Bool(), load_default=dict)

    @pre_load
    def _boxes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"chosen": {k: v == "1" for k, v in data.items() if ":" in k}}
