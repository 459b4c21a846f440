"""A district for elderly visits: its tree, one person per role on the right unit, and helpers that drive the
services as the pages and the API do, each in its own committed transaction.

`world_a` and `world_b` are two districts of the same shape, so every test has another tenant's grids, workers
and residents at hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from blueprints.elderly_visits import services
from blueprints.elderly_visits.demo import resident_id
from blueprints.elderly_visits.models import ElderlyPerson
from saas.actors import Actor
from tenants.models import User
from tests.plugin import Factory

TREE = (
    ("street", "s1", None, "京城路街道"),
    ("community", "c1", "s1", "公园路社区"),
    ("grid", "g1", "c1", "公园路1网格"),
    ("grid", "g2", "c1", "公园路2网格"),
    ("compound", "p1", "g1", "公园路一号院"),
    ("building", "b1", "p1", "1号楼"),
    ("community", "c2", "s1", "漪汾苑社区"),
    ("grid", "g3", "c2", "漪汾苑1网格"),
)
PEOPLE = (
    ("admin", "district_admin", None),
    ("street", "street_officer", "s1"),
    ("cadre", "community_cadre", "c1"),
    ("cadre2", "community_cadre", "c2"),
    ("leader", "grid_leader", "g1"),
    ("worker", "grid_worker", "g1"),
    ("backup", "grid_worker", "g1"),
    ("worker2", "grid_worker", "g2"),
    ("worker3", "grid_worker", "g3"),
)
MODULES = ("grid_cases", "elderly_visits")


@dataclasses.dataclass
class World:
    app: Flask
    factory: Factory
    tenant: Any
    users: dict[str, Any]
    phone_head: str
    seq: int = 0

    def code(self, suffix: str) -> str:
        return f"{self.tenant.slug}-{suffix}"

    def session(self) -> Any:
        return self.factory.as_tenant(self.tenant)

    def actor(self, s: Any, who: str, enabled: tuple[str, ...] = MODULES) -> Actor:
        user = None if who == "system" else s.scalars(sa.select(User).where(User.id == self.users[who].id)).one()
        return Actor(user, self.app.extensions["saas.roles"], frozenset(enabled))

    def person_data(self, **over: Any) -> dict[str, Any]:
        self.seq += 1
        birth = over.pop("birth_date", dt.date(1948, 6, 1))
        sex = over.pop("sex", "f")
        return {"name": f"老人{self.seq}", "sex": sex, "birth_date": birth,
                "id_number": resident_id("140109", birth, self.seq * 2 - (sex == "m")), "phone": None,
                "grid_code": self.code("g1"), "place_code": "", "room": "", "address": "", "categories": [],
                "living": "独居", "conditions": "高血压", "care_notes": "耳背", "worker_id": self.users["worker"].id,
                "backup_worker_id": None, "frequency_days": None, "consent": True, "consent_note": "",
                "contacts": [{"name": "女儿", "relation": "子女", "phone": f"{self.phone_head}{self.seq:04d}"}],
                **over}

    def register(self, who: str = "cadre", **over: Any) -> ElderlyPerson:
        with self.session() as s:
            person = services.register_person(s, self.tenant, self.actor(s, who), self.person_data(**over))
            s.commit()
            return person

    def visit(self, person: ElderlyPerson | int, who: str = "worker", **over: Any) -> Any:
        person_id = person if isinstance(person, int) else person.id
        data = {"kind": "home", "health": "good", "mood": "good", "needs": [], "risks": [], "notes": "",
                "visited_at": None, "duration_min": None, "client_key": None, "need_note": "", "make_case": False,
                **over}
        with self.session() as s:
            visit = services.log_visit(s, self.tenant, self.actor(s, who), person_id, data)
            s.commit()
            return visit

    def citizen(self, phone: str) -> User:
        """A resident's account for a phone, as the phone-code sign-in makes it."""
        from saas.auth import citizen_for_phone

        with self.session() as s:
            user = citizen_for_phone(phone, s)
            s.commit()
            return user

    def get(self, person: ElderlyPerson | int) -> ElderlyPerson:
        person_id = person if isinstance(person, int) else person.id
        with self.session() as s:
            return s.scalars(sa.select(ElderlyPerson).where(ElderlyPerson.id == person_id)).one()


def build_world(app: Flask, factory: Factory, slug: str, name: str, phone_head: str) -> World:
    tenant = factory.tenant(slug, name, modules=MODULES)
    for kind, suffix, parent, unit_name in TREE:
        factory.unit(tenant, kind, f"{slug}-{suffix}", f"{slug}-{parent}" if parent else None, name=unit_name)
    users = {}
    for i, (who, role, unit) in enumerate(PEOPLE):
        users[who] = factory.user(tenant, role, f"{slug}-{unit}" if unit else None, name=f"{name}{who}",
                                  username=f"{slug}-{who}", phone=f"{phone_head}{900 + i:04d}")
    return World(app, factory, tenant, users, phone_head)


@pytest.fixture
def world_a(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "alpha", "甲区", "1381234")


@pytest.fixture
def world_b(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "beta", "乙区", "1397654")
