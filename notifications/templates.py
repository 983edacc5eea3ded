"""Messages in Indonesian, plain text and HTML, from Jinja2 templates in notifications/mail/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.core import clock, events
from engine.core.config import Settings
from models import EmailMessage, Notification, User

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "mail"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECT_CHARS = min(EmailMessage.subject.type.length, Notification.judul.type.length)
SUBJECTS = {
    events.TaskCreated.name: "Tugas baru: {nama}, {tempat}, periode {periode}",
    events.TaskDueSoon.name: "Segera jatuh tempo: {nama}, {tempat}, periode {periode}",
    events.TaskOverdue.name: "Melewati tenggat: {nama}, {tempat}, periode {periode}",
    events.SubmissionReturned.name: "Pengajuan {tempat} periode {periode} dikembalikan oleh {tingkat}",
    events.SubmissionVerified.name: "Pengajuan {tempat} periode {periode} terverifikasi",
    events.SubmissionBroughtUpToDate.name: (
        "Pengajuan {tempat} periode {periode} disesuaikan: periode {oleh_periode} disetujui"
    ),
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


def _link(event: events.DomainEvent, other_tier: bool = False) -> str | None:
    if isinstance(event, events.SubmissionBroughtUpToDate):
        return f"/tugas/{event.task_id}" if other_tier and event.task_id else f"/desa/pengajuan/{event.submission_id}"
    if isinstance(event, events.TaskOverdue) and other_tier:
        # the tier above cannot open the late tier's task: it follows the region in the cycle status
        return f"/siklus/?{urlencode({'periode': event.periode, 'induk': event.region_kode})}"
    if isinstance(event, events.TaskCreated | events.TaskDueSoon | events.TaskOverdue):
        if event.tingkat == "desa":  # the desa's operators have no task inbox: their submission, or their desa
            return f"/desa/pengajuan/{event.submission_id}" if event.submission_id else "/desa/"
        return f"/tugas/{event.task_id}"
    if isinstance(event, events.SubmissionReturned | events.SubmissionVerified):
        return f"/desa/pengajuan/{event.submission_id}"
    if isinstance(event, events.CycleOpened | events.CycleClosingSoon | events.CycleClosed):
        return "/desa/"
    return None


def moment(value: str | datetime | None, settings: Settings, deadline: bool = False) -> str:
    """An instant as a message says it, as the pages do, in the zone people live in:
    "24 Januari 2027 pukul 07.00 WITA" (stored in UTC, the day can differ). A `deadline` at midnight
    is the end of the day before, as Indonesian notices say it: "30 April 2027 pukul 24.00 WITA"."""
    if not value:
        return ""
    at = clock.instant(value).astimezone(settings.tz)
    if deadline and at.time() == time(0):
        day = format_date(at.date() - timedelta(days=1), "d MMMM y", locale="id")
        return f"{day} pukul 24.00 {settings.zone_name}"
    local = format_datetime(at, "d MMMM y 'pukul' HH.mm", tzinfo=settings.tz, locale="id")
    return f"{local} {settings.zone_name}"


def render(
    event: events.DomainEvent, user: User, settings: Settings, place: str = "", other_tier: bool = False
) -> Message:
    """The subject, the email in text and HTML, the short text for the bell, and the link; `place`
    is the name of the desa (or region) the event is about; `other_tier`: the person is told as
    another tier than the event's own: the tier a late task was escalated to (not the late tier),
    or the tier judging a submission another period's approval brought up to date (not its desa)."""
    payload = event.payload()
    code = payload.get("kode_desa") or payload.get("region_kode") or ""
    values = {
        **payload,
        "kode": code,
        "tempat": f"{place} ({code})" if place else code,
        "periode": payload.get("periode", ""),
        "tingkat": payload.get("tingkat", ""),
        "nama": payload.get("nama", ""),
        "tenggat": moment(payload.get("due_at"), settings, deadline=True),
        "batas_waktu": moment(payload.get("batas"), settings, deadline=True),
    }
    subject = SUBJECTS.get(event.name, event.name).format(**values)[:SUBJECT_CHARS]  # its columns' length
    link = _link(event, other_tier)
    context = {
        "event": event.name,
        "p": values,
        "user": user,
        "other_tier": other_tier,
        "link": f"{settings.base_url}{link}" if link else None,
        "subject": subject,
    }
    text = _env.get_template("event.txt").render(**context)
    body = _env.get_template("body.txt").render(**context).strip()
    # the HTML carries the body as a value, so it is escaped: an included .txt template is not, and a
    # reason a verifier typed (`<a href=...>`) would become a live link in the operator's mail
    html = _env.get_template("event.html").render(**context, body=body)
    return Message(subject, text, html, body, link)


# A bundle lists this many messages in full; the rest are counted (they are all in the bell).
BUNDLE_LISTED = 50


def render_bundle(user: User, items: list[dict[str, Any]], settings: Settings) -> tuple[str, str, str]:
    """Several messages due for one person at once, as one e-mail: each with its text and link."""
    subject = f"SIJOSKU: {len(items)} pemberitahuan baru"
    return _render_list("bundle", user, items, settings, subject)


def render_digest(user: User, items: list[dict[str, Any]], settings: Settings) -> tuple[str, str, str]:
    subject = f"Ringkasan harian SIJOSKU: {len(items)} pemberitahuan"
    return _render_list("digest", user, items, settings, subject)


def _render_list(
    name: str, user: User, items: list[dict[str, Any]], settings: Settings, subject: str
) -> tuple[str, str, str]:
    """Items (judul, isi, tautan, waktu) with absolute links and times in the people's zone."""
    shown = [
        {
            **item,
            "tautan": f"{settings.base_url}{item['tautan']}" if item.get("tautan") else None,
            "waktu": moment(item.get("waktu"), settings),
        }
        for item in items[:BUNDLE_LISTED]
    ]
    context = {
        "user": user,
        "items": shown,
        "more": max(len(items) - BUNDLE_LISTED, 0),
        "subject": subject,
        "inbox": f"{settings.base_url}/notifikasi/",
    }
    return (
        subject,
        _env.get_template(f"{name}.txt").render(**context),
        _env.get_template(f"{name}.html").render(**context),
    )
