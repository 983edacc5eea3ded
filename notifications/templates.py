"""Messages in Indonesian, plain text and HTML, from Jinja2 templates in notifications/mail/."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from models import User

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "mail"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

SUBJECTS = {
    "task.created": "Tugas baru: {nama} ({kode}, {periode})",
    "task.due_soon": "Segera jatuh tempo: {nama} ({kode}, {periode})",
    "task.overdue": "Terlambat dan dieskalasi: {nama} ({kode})",
    "submission.returned": "Pengajuan {periode} dikembalikan oleh {tingkat}",
    "submission.verified": "Pengajuan {periode} terverifikasi",
    "cycle.opened": "Siklus pemutakhiran {periode} dibuka",
    "cycle.closing_soon": "Batas pengajuan siklus {periode} segera tiba",
    "cycle.closed": "Siklus pemutakhiran {periode} ditutup",
}


@dataclass
class Message:
    subject: str
    text: str
    html: str
    text_body: str  # the short text shown in the app
    link: str | None


def _link(event_type: str, payload: dict[str, Any]) -> str | None:
    if event_type.startswith("task.") and payload.get("tingkat") == "desa" and payload.get("submission_id"):
        return f"/desa/pengajuan/{payload['submission_id']}"
    if event_type.startswith("task.") and payload.get("task_id"):
        return f"/tugas/{payload['task_id']}"
    if event_type.startswith("submission.") and payload.get("submission_id"):
        return f"/desa/pengajuan/{payload['submission_id']}"
    return "/desa/" if event_type.startswith("cycle.") else None


def render(event_type: str, payload: dict[str, Any], user: User) -> Message:
    values = {**payload, "kode": payload.get("kode_desa") or payload.get("region_kode") or payload.get("wilayah", ""),
              "periode": payload.get("periode", ""), "tingkat": payload.get("tingkat", ""),
              "nama": payload.get("nama", "")}
    subject = SUBJECTS.get(event_type, event_type).format(**values)
    link = _link(event_type, payload)
    base = os.environ.get("SIJOSKU_BASE_URL", "http://127.0.0.1:5000").rstrip("/")  # emails need whole addresses
    context = {"event": event_type, "p": values, "user": user, "link": f"{base}{link}" if link else None,
               "subject": subject}
    text = _env.get_template("event.txt").render(**context)
    html = _env.get_template("event.html").render(**context)
    body = _env.get_template("body.txt").render(**context).strip()
    return Message(subject, text, html, body, link)


def render_digest(user: User, items: list[dict[str, Any]]) -> tuple[str, str, str]:
    subject = f"Ringkasan harian SIJOSKU: {len(items)} pemberitahuan"
    context = {"user": user, "items": items, "subject": subject}
    text = _env.get_template("digest.txt").render(**context)
    return subject, text, _env.get_template("digest.html").render(**context)
