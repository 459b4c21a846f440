"""Statements with no ORM entity among their columns (counts) are scoped like any other.

Found by the browser journeys: the dashboard's category widget counted both districts' categories on
SQLite, because `select(func.count()).select_from(Model)` names no mapper in `all_mappers`.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas import db
from saas.db import TenantNotSet
from tenants.models import User


def test_count_select_from_model_counts_only_current_tenant_rows(app, factory, tenant_a, tenant_b):
    factory.user(tenant_a, name="甲一")
    factory.user(tenant_b, name="乙一")
    factory.user(tenant_b, name="乙二")
    with factory.as_tenant(tenant_a) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(User).where(User.name != "")) == 1
    with factory.as_tenant(tenant_b) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_count_with_no_tenant_set_fails_closed(app, tenant_a):
    with app.app_context(), pytest.raises(TenantNotSet):
        db.session.scalar(sa.select(sa.func.count()).select_from(User))
