"""Grid cases' tables, named grid_cases_<plural>."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from saas.db import Base, TenantScoped


class CaseCategory(TenantScoped, Base):
    """One entry of the tenant's taxonomy, with its default department and deadline."""

    __tablename__ = "grid_cases_categories"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.UniqueConstraint("tenant_id", "name"),
        sa.ForeignKeyConstraint(["tenant_id", "department_id"], ["org_units.tenant_id", "org_units.id"]),
        sa.CheckConstraint("deadline_days BETWEEN 1 AND 90", name="deadline_days"),
    )

    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    department_id: so.Mapped[int | None]
    deadline_days: so.Mapped[int] = so.mapped_column(sa.Integer, default=5)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
