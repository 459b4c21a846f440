"""A seeded district for the fuzzers: every module on, a small org tree, a district admin with a token.

A second district with the same codes sits beside it, so a fuzzer that stumbles on a unique key or a
look-up by code meets the other tenant's rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from saas.notify import notify
from tests.plugin import Factory

ORG = (("street", "S01", None, "京城路街道"), ("community", "C01", "S01", "晋祠路社区"),
       ("grid", "G01", "C01", "第一网格"), ("department", "D01", None, "城管局"))


@dataclass
class District:
    tenant: Any
    admin: Any
    token: str

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def codes(self) -> list[str]:
        """Codes of the seeded units, for fields that refer to one."""
        return [code for _kind, code, _parent, _name in ORG]


def _seed(factory: Factory, slug: str, name: str, modules: tuple[str, ...]) -> Any:
    tenant = factory.tenant(slug, name, modules=modules)
    for kind, code, parent, unit_name in ORG:
        factory.unit(tenant, kind, code, parent_code=parent, name=unit_name)
    return tenant


@pytest.fixture
def district(app: Flask, factory: Factory) -> District:
    """The fuzzed district: every module the deployment offers is on, so every route is reachable."""
    modules = tuple(spec.key for spec in app.extensions["saas.modules"])
    tenant = _seed(factory, "fuzz", "测试区", modules)
    _seed(factory, "other", "旁区", modules)
    admin = factory.user(tenant, "district_admin", name="区管理员", username="admin")
    with factory.as_tenant(tenant) as s:
        # an unread notice, so the inbox shows its forms (mark as read, mark all read) to the crawler
        notify(s, admin.id, "auth.phone_code", {"code": "123456"}, tenant=tenant)
        s.commit()
    return District(tenant=tenant, admin=admin, token=factory.token(admin))


@pytest.fixture
def known_values(app: Flask) -> dict[str, list[str]]:
    """Real values for parameters a generator rarely hits by chance (a module key, a date), by name.

    The fuzzers mix them in beside generated values, so an operation's own logic is reached and not
    only its 404 or 422; a parameter without an entry is fuzzed as it is.
    """
    return {
        "key": sorted(spec.key for spec in app.extensions["saas.modules"]),
        "day": ["2026-10-01", "2026-10-10", "2026-11-23"],
        "start": ["2026-09-30", "2026-09-30T23:30:00+08:00", "2026-12-31T17:00:00"],
        "days": ["0", "1", "5", "30"],
        "kind": ["org", "staff"],
        "channel": ["sms", "dingtalk", "wecom", "email"],
    }
