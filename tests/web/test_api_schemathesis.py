"""schemathesis generates requests from the OpenAPI document (fitting it, and deliberately not
fitting it) and sends them with tokens of several scopes: no answer may be a server error or break
the document (status, media type, body schema); requests that break the document must be refused."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from engine.verification import determinations
from tests.factories import SYSTEM

ALL = ("agregat", "status", "catatan", "angka-instansi", "pengajuan", "penetapan")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def scoped_tokens(db, world, issue_token):
    with db.transaction() as s:  # a determined year, so that the determinations answer with figures too
        determinations.freeze(s, SYSTEM, determinations.Approval("65", 2026, "188.44/1/2027", date(2027, 1, 15)))
    return {
        "pembaca-kabupaten": issue_token("65.01", ("agregat", "status", "catatan", "penetapan")),
        "penulis-provinsi-nik": issue_token("65", ALL, can_write=True, sees_nik=True, rate_limit="100000/minute"),
        "desa": issue_token("65.01.01.2005", ("pengajuan", "catatan"), can_write=True, rate_limit="100000/minute"),
        "tanpa-token": "",
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_document_under_generated_requests(app, scoped_tokens, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])

    # the token is a fixed header of each strategy, so that negative cases never lose it by accident
    strategies = [
        schema.as_strategy(generation_mode=mode, headers={"Authorization": f"Bearer {token}"} if token else None)
        for _, token in sorted(scoped_tokens.items())
    ]

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def call(case):
        case.call_and_validate(checks=checks)

    call()
