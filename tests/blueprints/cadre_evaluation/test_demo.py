"""The demo district can be tried at once: 芦淞区 has an open campaign of section chiefs, rated on its public page."""

from __future__ import annotations

import sqlalchemy as sa

from blueprints.cadre_evaluation.demo import TARGETS
from blueprints.cadre_evaluation.models import Campaign, Target
from saas import db
from tenants.models import Tenant
from tests.plugin import text_of


def test_the_demo_opens_a_campaign_of_section_chiefs_once(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # twice changes nothing
    with app.app_context():
        lusong = db.session.scalars(sa.select(Tenant).where(Tenant.slug == "lusong")).one()
        with db.tenant_context(lusong.id) as s:
            campaigns = list(s.scalars(sa.select(Campaign)))
            names = list(s.scalars(sa.select(Target.name).order_by(Target.position)))
    assert [c.state for c in campaigns] == ["open"]
    assert names == [t[0] for t in TARGETS]
    page = text_of(client.get(f"/t/lusong/cadre_evaluation/c/{campaigns[0].id}").get_data(as_text=True))
    assert "千人评科长" in page
    assert TARGETS[0][4] in page  # the duties, so a rater knows whom they rate
    client.post("/t/lusong/login", data={"login": "admin", "password": "wgt-demo-2026"})
    organiser = text_of(client.get(f"/t/lusong/cadre_evaluation/campaigns/{campaigns[0].id}").get_data(as_text=True))
    assert "履职尽责（权重 20）" in organiser  # Chinese brackets in Chinese text
    assert "满意（100 分）" in organiser
