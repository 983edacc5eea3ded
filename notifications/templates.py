"""Messages in Indonesian, plain text and HTML, from Jinja2 templates in notifications/mail/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.core import events
from models import User

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "mail"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECTS = {
    events.TaskCreated.name: "Tugas baru: {nama}, {tempat}, periode {periode}",
    events.TaskDueSoon.name: "Segera jatuh tempo: {nama}, {tempat}, periode {periode}",
    events.TaskOverdue.name: "Terlambat dan dieskalasi: {nama}, {tempat}, periode {periode}",
    events.SubmissionReturned.name: "Pengajuan {tempat} periode {periode} dikembalikan oleh {tingkat}",
    events.SubmissionVerified.name: "Pengajuan {tempat} periode {periode} terverifikasi",
    events.CycleOpened.name: "Siklus pemutakhiran {periode} dibuka",
    events.CycleClosingSoon.name: "Batas pengajuan siklus {periode} segera tiba",
    events.CycleClosed.name: "Siklus pemutakhiran {periode} ditutup",
}


@dataclass
class Message:
    subject: str
    text: str
    html: str
    text_body: str  # the short text shown in the app
    link: str | None


def _link(event: events.DomainEvent) -> str | None:
    if isinstance(event, events.TaskCreated | events.TaskDueSoon | events.TaskOverdue):
        submission_id = getattr(event, "submission_id", None)
        if event.tingkat == "desa" and submission_id:
            return f"/desa/pengajuan/{submission_id}"
        return f"/tugas/{event.task_id}"
    if isinstance(event, events.SubmissionReturned | events.SubmissionVerified):
        return f"/desa/pengajuan/{event.submission_id}"
    if isinstance(event, events.CycleOpened | events.CycleClosingSoon | events.CycleClosed):
        return "/desa/"
    return None


def render(event: events.DomainEvent, user: User, base_url: str, place: str = "") -> Message:
    """The subject, the email in text and HTML, the short text for the bell, and the link; `place`
    is the name of the desa (or region) the event is about."""
    payload = event.payload()
    code = payload.get("kode_desa") or payload.get("region_kode") or ""
    values = {
        **payload,
        "kode": code,
        "tempat": f"{place} ({code})" if place else code,
        "periode": payload.get("periode", ""),
        "tingkat": payload.get("tingkat", ""),
        "nama": payload.get("nama", ""),
    }
    subject = SUBJECTS.get(event.name, event.name).format(**values)
    link = _link(event)
    context = {
        "event": event.name,
        "p": values,
        "user": user,
        "link": f"{base_url}{link}" if link else None,
        "subject": subject,
    }
    text = _env.get_template("event.txt").render(**context)
    body = _env.get_template("body.txt").render(**context).strip()
    # the HTML carries the body as a value, so it is escaped: an included .txt template is not, and a
    # reason a verifier typed (`<a href=...>`) would become a live link in the operator's mail
    html = _env.get_template("event.html").render(**context, body=body)
    return Message(subject, text, html, body, link)


def render_digest(user: User, items: list[dict[str, Any]]) -> tuple[str, str, str]:
    subject = f"Ringkasan harian SIJOSKU: {len(items)} pemberitahuan"
    context = {"user": user, "items": items, "subject": subject}
    text = _env.get_template("digest.txt").render(**context)
    return subject, text, _env.get_template("digest.html").render(**context)
