"""Alembic environment: the kernel's tables and each module's tables (named `<module key>_...`) live on
their own branches, so a module shipped as a separate distribution brings its own migrations."""

from __future__ import annotations

from typing import Any

from alembic import context

from saas.db import Base

config = context.config
connection = config.attributes["connection"]
owner_of = config.attributes["owner_of"]
target = config.attributes.get("target")  # only set when writing a revision


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if target is None:
        return True
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or owner_of(table) == target


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
