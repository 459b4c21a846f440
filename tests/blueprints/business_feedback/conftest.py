"""A district for business feedback: its departments, one person per role, supervisors on the roster, and helpers
that drive the services as one request would (each call its own committed transaction).

`world_a` and `world_b` are two districts of the same shape (codes differ by the slug), so every test has another
district's enterprises, departments and supervisors at hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from blueprints.business_feedback import services
from blueprints.business_feedback.models import FeedbackItem, Supervisor
from blueprints.business_feedback.services.base import Actor, today
from tenants.models import OrgUnit, User
from tests.plugin import Factory

TREE = (
    ("street", "s1", None, "工业路街道"),
    ("community", "c1", "s1", "工业路社区"),
    ("department", "d1", None, "区市场监管局"),
    ("section", "d1x", "d1", "登记注册科"),
    ("department", "d2", None, "区税务局"),
)
PEOPLE = (
    ("admin", "district_admin", None),
    ("office", "business_office", None),
    ("discipline", "discipline_commission", None),
    ("dept", "dept_handler", "d1"),
    ("section", "dept_handler", "d1x"),
    ("dept2", "dept_handler", "d2"),
    ("worker", "grid_worker", "c1"),
)
# valid codes (the 18th character is the check digit stdnum computes)
CODES = ("91410100MA44XXXXX0", "91110000600037341L")


def valid_code(body17: str) -> str:
    from stdnum.cn import uscc

    return body17 + uscc.calc_check_digit(body17)


@dataclasses.dataclass
class World:
    app: Flask
    factory: Factory
    tenant: Any
    users: dict[str, Any]
    phone_head: str

    def code(self, suffix: str) -> str:
        return f"{self.tenant.slug}-{suffix}"

    def session(self) -> Any:
        return self.factory.as_tenant(self.tenant)

    def actor(self, s: Any, who: str) -> Actor:
        user = None if who == "system" else s.scalars(sa.select(User).where(User.id == self.users[who].id)).one()
        return Actor(user, self.app.extensions["saas.roles"], frozenset({"business_feedback"}))

    def unit_id(self, suffix: str) -> int:
        with self.session() as s:
            return s.scalars(sa.select(OrgUnit.id).where(OrgUnit.code == self.code(suffix))).one()

    def today(self) -> dt.date:
        with self.session() as s:
            return today(s, self.tenant)

    def appoint(self, who: str, n: int, *, start: dt.date | None = None, end: dt.date | None = None,
                kind: str = "invited") -> Supervisor:
        with self.session() as s:
            sup = services.appoint_supervisor(s, self.tenant, self.actor(s, "office"), {
                "name": f"{self.tenant.slug}监督员{n}", "phone": f"{self.phone_head}{n:04d}", "kind_code": kind,
                "source_group": "entrepreneur", "sector": "制造业", "batch": "第一批", "term_start": start,
                "term_end": end})
            s.commit()
            self.users[who] = s.scalars(sa.select(User).where(User.id == sup.user_id)).one()
            return sup

    def submit(self, who: str = "sup", **data: Any) -> FeedbackItem:
        values = {"kind": "problem", "area_code": "start", "description": "办理营业执照需跑三次", "urgency": "normal",
                  "show_name": False, "credit_code": "", "enterprise_name": "", **data}
        with self.session() as s:
            item = services.submit_item(s, self.tenant, self.actor(s, who), values)
            s.commit()
            return item

    def act(self, who: str, item: FeedbackItem | int, action: str, **data: Any) -> FeedbackItem:
        item_id = item if isinstance(item, int) else item.id
        with self.session() as s:
            version = s.scalars(sa.select(FeedbackItem.version).where(FeedbackItem.id == item_id)).one()
            done = services.act(s, self.tenant, self.actor(s, who), item_id, action, {"version": version, **data})
            s.commit()
            return done

    def get(self, item: FeedbackItem | int) -> FeedbackItem:
        item_id = item if isinstance(item, int) else item.id
        with self.session() as s:
            return s.scalars(sa.select(FeedbackItem).where(FeedbackItem.id == item_id)).one()

    def needs(self, action: str, departments: tuple[str, ...] = ("d1",)) -> dict[str, Any]:
        """What each action needs besides the version."""
        return {
            "accept": {"department_ids": [self.unit_id(d) for d in departments]},
            "merge": {"into": self._other_number()},
            "decline": {"note": "不属于营商环境问题"},
            "answer": {"answer": "已简化流程，一次办结"},
            "rate": {"rating": "satisfied"},
        }.get(action, {})

    def _other_number(self) -> str:
        with self.session() as s:
            rows = list(s.scalars(sa.select(FeedbackItem.number).order_by(FeedbackItem.id)))
        return rows[0]

    def move(self, item: FeedbackItem, path: str) -> FeedbackItem:
        """Drive an item along 'who:action' steps, e.g. "office:accept dept:answer sup:rate"."""
        for step in path.split():
            who, action = step.split(":")
            item = self.act(who, item, action, **self.needs(action))
        return item


def build_world(app: Flask, factory: Factory, slug: str, name: str, phone_head: str) -> World:
    tenant = factory.tenant(slug, name, modules=("business_feedback",))
    for kind, suffix, parent, unit_name in TREE:
        factory.unit(tenant, kind, f"{slug}-{suffix}", f"{slug}-{parent}" if parent else None, name=unit_name)
    users = {}
    for i, (who, role, unit) in enumerate(PEOPLE):
        users[who] = factory.user(tenant, role, f"{slug}-{unit}" if unit else None, name=f"{name}{who}",
                                  username=f"{slug}-{who}", phone=f"{phone_head}{900 + i:04d}")
    world = World(app, factory, tenant, users, phone_head)
    world.appoint("sup", 1)
    world.appoint("sup2", 2)
    return world


@pytest.fixture
def world_a(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "alpha", "甲区", "1381234")


@pytest.fixture
def world_b(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "beta", "乙区", "1397654")
