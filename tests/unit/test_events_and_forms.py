"""The event catalogue and the web forms, without a database or a server."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from engine.core import events
from engine.core.errors import Invalid
from models import OutboxEvent
from web.forms import ClaimForm, DecisionForm, InboxFilterForm, ItemForm, parse


def test_every_event_has_one_name_and_comes_back_from_the_outbox():
    assert len(events.CATALOGUE) == len({cls.name for cls in events.CATALOGUE.values()})
    sent = events.TaskOverdue(
        task_id=7,
        nama="Verifikasi kecamatan",
        tingkat="kecamatan",
        region_kode="65.01.01",
        eskalasi_ke="kabupaten",
        kode_desa="65.01.01.2005",
        periode="2026-Q4",
    )
    row = OutboxEvent(event_type=sent.name, payload={**sent.payload(), "dropped_since": 1})
    assert events.from_outbox(row) == sent and sent.human_task_id == 7


def test_a_decision_form_collects_each_item_verdict_and_acknowledgement():
    form = parse(
        DecisionForm,
        MultiDict(
            {
                "keputusan": "kembalikan",
                "alasan": " umur salah ",
                "revisi_instans": "4",
                "verdict_12": "tidak_sesuai",
                "alasan_12": "lahir 1951",
                "verdict_13": "sesuai",
                "ack_5": "dicek dengan KTP",
                "ack_6": "  ",
            }
        ),
    )
    assert form["alasan"] == "umur salah" and form["revisi_instans"] == 4
    assert form["tidak_sesuai"] == {12: "lahir 1951"} and form["pengakuan"] == {5: "dicek dengan KTP"}


def test_a_wrong_value_is_refused_naming_its_field():
    with pytest.raises(Invalid) as refused:
        parse(DecisionForm, MultiDict({"keputusan": "setuju", "revisi_instans": "tiga"}))
    assert [p.column for p in refused.value.problems] == ["revisi_instans"]
    with pytest.raises(Invalid):
        parse(InboxFilterForm, MultiDict({"status": "dibuang"}))


def test_list_fields_and_attributes():
    assert parse(ClaimForm, MultiDict([("task_id", "3"), ("task_id", "x"), ("task_id", "9")]))["task_id"] == [3, 9]
    item = parse(ItemForm, MultiDict({"nama": "  Maria ", "atribut_nama_lembaga": "Panti Harapan"}))
    assert item["nama"] == "Maria" and item["atribut"] == {"nama_lembaga": "Panti Harapan"}
