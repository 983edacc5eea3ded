"""Words the pages show from data (role names, tiers), marked here so that they are translated."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import lazy_gettext as _l

# Status and decision words as pages show them; lazy, so that each is translated only when shown.
STATUS_LABELS = {
    "draf": _l("draf"), "diajukan": _l("diajukan"), "dikembalikan": _l("dikembalikan"),
    "terverifikasi": _l("terverifikasi"), "tidak_melapor": _l("tidak melapor"), "terbuka": _l("terbuka"),
    "selesai": _l("selesai"), "dibatalkan": _l("dibatalkan"), "setuju": _l("disetujui"),
    "kembalikan": _l("dikembalikan"), "ajukan": _l("diajukan"), "sesuai": _l("sesuai"),
    "tidak_sesuai": _l("tidak sesuai"),
}


def status_label(value: str | None) -> str:
    return str(STATUS_LABELS.get(value or "", value or ""))


WORDS = [
    _l("operator"), _l("verifier"), _l("validator"), _l("admin"), _l("auditor"),
    _l("desa/kelurahan"), _l("kecamatan"), _l("kabupaten/kota"), _l("provinsi"),
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
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as target:
            write_mo(target, catalog)
        tmp.replace(mo_path)
