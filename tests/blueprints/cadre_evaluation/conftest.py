"""A district for cadre evaluation: its organiser (the district admin), a campaign's helpers that drive the
services as the pages and the API do, each in its own committed transaction, and the phone-code helper."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Campaign, Target
from saas.actors import Actor
from tenants.models import User
from tests.plugin import Factory, PhoneCodes

MODULES = ("cadre_evaluation",)
DIMS = ("duty", "law", "service", "style", "integrity")


@dataclasses.dataclass
class World:
    app: Flask
    factory: Factory
    tenant: Any
    admin: Any
    phone_head: str
    codes: PhoneCodes | None = None

    def session(self) -> Any:
        return self.factory.as_tenant(self.tenant)

    def actor(self, s: Any) -> Actor:
        user = s.scalars(sa.select(User).where(User.id == self.admin.id)).one()
        return Actor(user, self.app.extensions["saas.roles"], frozenset(MODULES))

    def campaign(self, targets: int = 3, **over: Any) -> Campaign:
        data = {"name": "2024年千人评科长", "period_start": dt.date(2023, 7, 1), "period_end": dt.date(2024, 6, 30),
                **over}
        with self.session() as s:
            campaign = services.create_campaign(s, self.tenant, self.actor(s), data)
            for i in range(targets):
                services.add_target(s, self.tenant, self.actor(s), campaign.id,
                                    {"name": f"科长{i + 1}", "department": "县市场监管局", "section": f"第{i + 1}科",
                                     "post": "科长", "duties": "行政审批"})
            s.commit()
            return campaign

    def targets(self, campaign: Campaign | int) -> list[Target]:
        cid = campaign if isinstance(campaign, int) else campaign.id
        with self.session() as s:
            return list(s.scalars(sa.select(Target).where(Target.campaign_id == cid).order_by(Target.position)))

    def step(self, campaign: Campaign | int, action: str) -> Campaign:
        cid = campaign if isinstance(campaign, int) else campaign.id
        with self.session() as s:
            c = services.transition(s, self.tenant, self.actor(s), cid, action)
            s.commit()
            return c

    def get(self, campaign: Campaign | int) -> Campaign:
        cid = campaign if isinstance(campaign, int) else campaign.id
        with self.session() as s:
            return s.scalars(sa.select(Campaign).where(Campaign.id == cid)).one()

    def vote(self, campaign: Campaign | int, phone: str, ratings: dict[Any, dict[str, str]],
             channel: str = "online", batch_size: int | None = None) -> str:
        """A verified person's ballot, as the page submits it: the ledger's transaction, then the mover's."""
        cid = campaign if isinstance(campaign, int) else campaign.id
        with self.session() as s:
            code = services.submit_ballot(s, self.tenant, cid, phone, ratings, channel)
            s.commit()
            services.move_ballots(s, services.get_campaign(s, cid), batch_size=batch_size)
            s.commit()
        return code

    def count(self, model: Any) -> int:
        with self.session() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    def last_code(self, phone: str) -> str:
        """The newest code sent to the phone, as it would receive it (no table holds a code in clear)."""
        assert self.codes is not None
        return self.codes.last(phone)


def pow_fields(client: Any, page_url: str) -> dict[str, str]:
    """The proof of work a browser adds to a ballot form: the page's challenge and a solved counter."""
    import re

    from saas import pow

    html = client.get(page_url).get_data(as_text=True)
    challenge = re.search(r'data-pow-challenge="([^"]+)"', html)
    bits = re.search(r'data-pow-bits="(\d+)"', html)
    assert challenge, "the form carries no challenge"
    assert bits, "the form carries no difficulty"
    return {"pow_challenge": challenge.group(1), "pow": pow.solve(challenge.group(1), int(bits.group(1)))}


def all_levels(level: str, **over: str) -> dict[str, str]:
    return {d: over.get(d, level) for d in DIMS}


def build_world(app: Flask, factory: Factory, slug: str, name: str, phone_head: str,
                codes: PhoneCodes | None = None) -> World:
    tenant = factory.tenant(slug, name, modules=MODULES)
    admin = factory.user(tenant, "district_admin", name=f"{name}管理员", username=f"{slug}-admin",
                         phone=f"{phone_head}0900")
    return World(app, factory, tenant, admin, phone_head, codes)


@pytest.fixture
def world_a(app: Flask, factory: Factory, phone_codes: PhoneCodes) -> World:
    return build_world(app, factory, "alpha", "甲区", "1381234", phone_codes)


@pytest.fixture
def world_b(app: Flask, factory: Factory) -> World:
    return build_world(app, factory, "beta", "乙区", "1397654")


@pytest.fixture
def pg_world(pg_app: Flask) -> World:
    return build_world(pg_app, Factory(pg_app), "alpha", "甲区", "1381234")
