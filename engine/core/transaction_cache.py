"""Values kept for the rest of one transaction: the audit chain's locked head, a submission's
checks. They are dropped when the transaction ends, and when a savepoint ends (it may have rolled
back what they describe); `engine.core.uow` listens for both on its sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

_PREFIX = "sijosku_tx_"


def get(session: Session, name: str) -> Any:
    return session.info.get(_PREFIX + name)


def put(session: Session, name: str, value: Any) -> Any:
    session.info[_PREFIX + name] = value
    return value


def forget(session: Session, transaction: Any) -> None:
    """`after_transaction_end` listener. A flush's own subtransaction changes nothing."""
    if transaction.parent is None or transaction.nested:
        for key in [k for k in session.info if k.startswith(_PREFIX)]:
            del session.info[key]
