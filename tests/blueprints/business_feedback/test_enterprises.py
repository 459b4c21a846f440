"""Enterprises: credit codes checked with stdnum (the error names the check digit), one per code in a district,
phones masked in lists, and another district's enterprise never referenced."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from blueprints.business_feedback import services
from blueprints.business_feedback.models import Enterprise
from blueprints.business_feedback.schemas import EnterpriseIn
from blueprints.business_feedback.services import enterprises

GOOD = "91110000600037341L"


def test_a_wrong_check_digit_is_named(app):
    with app.test_request_context():
        message = services.credit_code_error("91110000600037341X")
        assert "L" in message
        assert "X" in message
        assert services.credit_code_error(GOOD) is None
        assert services.credit_code_error("9111000060003734") is not None  # 17 characters
        assert services.credit_code_error("91110000600037341I") is not None  # a letter the code never uses
        errors = EnterpriseIn().validate({"name": "某公司", "credit_code": "91110000600037341X"})
        assert "L" in errors["credit_code"][0]


def add(world, code, name="郑州某科技有限公司", phone=None):  # type: ignore[no-untyped-def]
    with world.session() as s:
        row = enterprises.add_enterprise(s, world.tenant, world.actor(s, "office"),
                                         {"name": name, "credit_code": code, "contact_name": "王经理",
                                          "contact_phone": phone})
        s.commit()
        return row


def test_one_enterprise_per_credit_code_in_a_district(world_a, world_b):
    add(world_a, GOOD)
    with pytest.raises(services.ServiceError) as twice:
        add(world_a, GOOD.lower(), name="另一个名字")
    assert "credit_code" in twice.value.errors
    assert add(world_b, GOOD).credit_code == GOOD  # another district has its own records
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Enterprise)) == 1


def test_lists_mask_the_contact_phone(world_a):
    add(world_a, GOOD, phone="13812345678")
    with world_a.session() as s:
        rows = enterprises.enterprise_rows(s, enterprises.list_enterprises(s))
    assert rows[0]["contact_phone"] == "138****5678"


def test_a_submission_registers_the_enterprise_once(world_a):
    first = world_a.submit(credit_code=GOOD, enterprise_name="郑州某科技有限公司")
    second = world_a.submit(credit_code=GOOD, enterprise_name="")
    assert first.enterprise_id == second.enterprise_id is not None
    with pytest.raises(services.ServiceError) as bad:
        world_a.submit(credit_code="91110000600037341X", enterprise_name="某公司")
    assert "L" in bad.value.errors["credit_code"]


def test_another_districts_enterprise_is_not_found(world_a, world_b):
    theirs = add(world_b, GOOD)
    with pytest.raises(services.Refused) as refused:
        world_a.submit(enterprise_id=theirs.id)
    assert refused.value.status == 404


def test_only_the_office_registers_enterprises(world_a):
    with world_a.session() as s, pytest.raises(services.Refused) as refused:
        enterprises.add_enterprise(s, world_a.tenant, world_a.actor(s, "dept"), {"name": "x", "credit_code": GOOD})
    assert refused.value.status == 403
