"""Lists shown a page at a time."""

from __future__ import annotations


def page_of(total: int, asked: int, size: int) -> tuple[int, int, int]:
    """(page, pages, offset) of a list of `total` shown `size` at a time, the page asked kept in range
    (a page past the end is the last one, so a stale link still shows something)."""
    pages = max(1, -(-total // size))
    page = min(max(1, asked), pages)
    return page, pages, (page - 1) * size
