"""Keyset pages: a list of a million rows answers its first and its thousandth page alike (no OFFSET)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so


def keyset_page(session: so.Session, query: sa.Select[Any], limit: int) -> tuple[list[Any], str | None]:
    """One page of an ordered query already narrowed by its cursor: the rows, and the id to go on from
    (None on the last page). The id travels as a string: JavaScript numbers cannot hold 63 bits."""
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)
