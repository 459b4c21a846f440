"""Demo data for cadre evaluation, after 中牟县's 2024 campaign (DESIGN.md), driven through the services themselves.

芦淞区 gets one open campaign, rated online from its public page: section chiefs of the bodies most tied to
enterprises (approval, market supervision, housing, taxes), each with their duties, on the default dimensions,
scale and channel weights. The district admin organises it. Running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from blueprints.cadre_evaluation.models import Campaign
from blueprints.cadre_evaluation.services import add_target, create_campaign, transition
from saas.actors import Actor
from tenants.models import Tenant, User

DEMO_DISTRICT = "lusong"
TARGETS = (  # name, department, section, post, duties
    ("周建华", "区行政审批服务局", "企业开办科", "科长", "企业开办、变更登记、刻章和税务登记一窗通办"),
    ("吴秀英", "区行政审批服务局", "工程建设审批科", "科长", "工程建设项目施工许可、并联审批"),
    ("郑志明", "区市场监督管理局", "食品生产监管科", "科长", "食品生产许可、企业上门指导"),
    ("王海燕", "区市场监督管理局", "信用监管科", "科长", "企业信用修复、经营异常名录"),
    ("冯国强", "区住房和城乡建设局", "建筑市场监管科", "科长", "建筑市场秩序、招投标监管"),
    ("陈丽娟", "区税务局", "纳税服务科", "科长", "留抵退税、办税服务厅"),
    ("褚文博", "区人力资源和社会保障局", "就业促进科", "科长", "稳岗补贴、创业担保贷款"),
    ("卫晓东", "区城市管理和综合执法局", "执法一科", "科长", "市容秩序、涉企检查"),
)


def seed(session: so.Session, tenant: Tenant) -> None:
    if tenant.slug != DEMO_DISTRICT or session.scalars(sa.select(Campaign.id).limit(1)).first() is not None:
        return
    admin = session.scalars(sa.select(User).where(User.username == "admin")).one()
    actor = Actor(admin, current_app.extensions["saas.roles"], frozenset({"cadre_evaluation"}))
    year = dt.date.today().year
    campaign = create_campaign(session, tenant, actor, {
        "name": f"{year}年度“千人评科长”活动",
        "period_start": dt.date(year - 1, 7, 1), "period_end": dt.date(year, 6, 30),
    })
    for name, department, section, post, duties in TARGETS:
        add_target(session, tenant, actor, campaign.id, {"name": name, "department": department, "section": section,
                                                         "post": post, "duties": duties})
    transition(session, tenant, actor, campaign.id, "open")
