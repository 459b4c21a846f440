"""Provisioning: the first switch-on installs the default kinds of supervisor and the 15 business areas, once;
the district's edits survive switching off and on, and a second run adds nothing."""

from __future__ import annotations

import sqlalchemy as sa

from blueprints.business_feedback import services
from blueprints.business_feedback.models import BusinessArea, SupervisorKind


def names(factory, tenant, model):  # type: ignore[no-untyped-def]
    with factory.as_tenant(tenant) as s:
        return [r.name for r in s.scalars(sa.select(model).order_by(model.position))]


def test_first_switch_installs_the_defaults_once(factory, tenant_a, enable_module):
    assert names(factory, tenant_a, BusinessArea) == []
    enable_module(tenant_a, "business_feedback")
    kinds = names(factory, tenant_a, SupervisorKind)
    assert kinds == ["特约监督员", "特邀监督员", "市场体验员", "体验官", "智慧监督员"]
    areas = names(factory, tenant_a, BusinessArea)
    assert len(areas) == 15
    assert areas[0] == "开办企业"
    assert areas[-1] == "市场监管"
    with factory.as_tenant(tenant_a) as s:
        start = s.scalars(sa.select(BusinessArea).where(BusinessArea.code == "start")).one()
        start.name = "企业开办"  # the district's own wording
        market = s.scalars(sa.select(SupervisorKind).where(SupervisorKind.code == "market")).one()
        market.active = False
        s.commit()
    enable_module(tenant_a, "business_feedback", on=False)
    enable_module(tenant_a, "business_feedback")
    with factory.as_tenant(tenant_a) as s:
        assert services.ensure_defaults(s, tenant_a) == 0  # even called again by hand: nothing to add
        s.commit()
    areas = names(factory, tenant_a, BusinessArea)
    assert len(areas) == 15
    assert "企业开办" in areas
    assert "开办企业" not in areas
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(SupervisorKind.active).where(SupervisorKind.code == "market")).one() is False


def test_another_district_gets_its_own_lists(factory, tenant_a, tenant_b, enable_module):
    enable_module(tenant_a, "business_feedback")
    assert names(factory, tenant_b, BusinessArea) == []
    enable_module(tenant_b, "business_feedback")
    assert len(names(factory, tenant_b, BusinessArea)) == 15
