"""A district for grid cases: its tree, one person per role on the right unit, and helpers that drive the services.

`world_a` and `world_b` are two districts of the same shape (codes differ by the district's slug), so every
test has another tenant's grids, departments and people at hand. `World.report` and `World.act` call the
services as the pages and the API do, each in its own committed transaction, as one request would.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from blueprints.grid_cases import services
from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.services.base import Actor
from saas import auth
from tenants.models import User
from tests.plugin import Factory

# (kind, code suffix, parent suffix or None for the district root, name)
TREE = (
    ("street", "s1", None, "京城路街道"),
    ("community", "c1", "s1", "晋祠路社区"),
    ("grid", "g1", "c1", "晋祠路一号院1网格"),
    ("grid", "g2", "c1", "晋祠路一号院2网格"),
    ("compound", "p1", "g1", "晋祠路一号院"),
    ("building", "b1", "p1", "1号楼"),
    ("community", "c2", "s1", "公园路社区"),
    ("grid", "g3", "c2", "公园路1网格"),
    ("department", "d1", None, "区水务局"),
    ("section", "d1x", "d1", "供水科"),
    ("department", "d2", None, "区城管局"),
)
# who, role, unit suffix (None: the district root)
PEOPLE = (
    ("admin", "district_admin", None),
    ("street", "street_officer", "s1"),
    ("cadre", "community_cadre", "c1"),
    ("cadre2", "community_cadre", "c2"),
    ("leader", "grid_leader", "g1"),
    ("worker", "grid_worker", "g1"),
    ("worker2", "grid_worker", "g2"),
    ("worker3", "grid_worker", "g3"),
    ("dept", "dept_handler", "d1"),
    ("section", "dept_handler", "d1x"),
    ("dept2", "dept_handler", "d2"),
)


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
        return Actor(user, self.app.extensions["saas.roles"], frozenset({"grid_cases"}))

    def citizen(self, n: int = 1) -> Any:
        """A resident of the district with a phone of their own (made on first use, as the sign-in does)."""
        key = f"citizen{n}"
        if key not in self.users:
            with self.session() as s:
                self.users[key] = auth.citizen_for_phone(f"{self.phone_head}{n:04d}", s)
                s.commit()
        return self.users[key]

    def report(self, who: str = "worker", *, photos: tuple[Any, ...] = (), source: str | None = None,
               **data: Any) -> GridCase:
        values = {"category_code": "water", "location_code": self.code("g1"), "description": "3号楼管道漏水",
                  "urgency": "normal", "address": "", **data}
        with self.session() as s:
            case = services.report_case(s, self.tenant, self.actor(s, who), values, photos, source=source)
            s.commit()
            return case

    def act(self, who: str, case: GridCase | int, action: str, *, photos: tuple[Any, ...] = (),
            **data: Any) -> GridCase:
        case_id = case if isinstance(case, int) else case.id
        with self.session() as s:
            version = s.scalars(sa.select(GridCase.version).where(GridCase.id == case_id)).one()
            done = services.act(s, self.tenant, self.actor(s, who), case_id, action,
                                {"version": version, **data}, photos)
            s.commit()
            return done

    def get(self, case: GridCase | int) -> GridCase:
        case_id = case if isinstance(case, int) else case.id
        with self.session() as s:
            return s.scalars(sa.select(GridCase).where(GridCase.id == case_id)).one()

    def move(self, case: GridCase, path: str) -> GridCase:
        """Drive a case along a path of 'who:action' steps, e.g. "worker:escalate cadre:accept"."""
        for step in path.split():
            who, action = step.split(":")
            extra: dict[str, Any] = {}
            if action in ("reject", "send_down", "return", "refuse_extension", "send_back"):
                extra["note"] = "理由"
            if action == "request_extension":
                extra.update(note="需采购材料", days=3)
            if action == "resolve":
                extra["result"] = "已修复"
            if action == "dispatch":
                extra["department_code"] = self.code("d1")
            if action == "rate":
                extra["rating"] = "satisfied"
            case = self.act(who, case, action, **extra)
        return case


def build_world(app: Flask, factory: Factory, slug: str, name: str, phone_head: str) -> World:
    tenant = factory.tenant(slug, name, modules=("grid_cases",))
    for kind, suffix, parent, unit_name in TREE:
        factory.unit(tenant, kind, f"{slug}-{suffix}", f"{slug}-{parent}" if parent else None, name=unit_name)
    users = {}
    for i, (who, role, unit) in enumerate(PEOPLE):
        users[who] = factory.user(tenant, role, f"{slug}-{unit}" if unit else None, name=f"{name}{who}",
                                  username=f"{slug}-{who}", phone=f"{phone_head}{900 + i:04d}")
    with factory.as_tenant(tenant) as s:
        services.ensure_default_categories(s, tenant)
        services.update_category(s, None, services.category_by_code(s, "water").id,
                                 {"department_code": f"{slug}-d1"})
        s.commit()
    return World(app, factory, tenant, users, phone_head)


@pytest.fixture
def world_a(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "alpha", "甲区", "1381234")


@pytest.fixture
def world_b(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "beta", "乙区", "1397654")


def jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30), exif: Any = None,
         fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), color)
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, fmt, **kwargs)
    return out.getvalue()


@pytest.fixture
def cookie_for(app: Flask) -> Any:
    """A signed session cookie header for a person (for a second client of one's own)."""
    from tests.plugin import session_data
    from tests.probe.fill import _cookie

    def make(user: Any) -> dict[str, str]:
        value = _cookie(app, session_data(app, user))
        return {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={value}"}

    return make
