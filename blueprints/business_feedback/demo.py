"""Demo data for business feedback, after the source reports (DESIGN.md), driven through the services themselves.

Every district gets the default kinds and business areas. 芦淞区 (the one demo district with the module's
story) gets a 惠济区-style first batch: 20 特邀监督员 and 20 体验官 on 2-year terms, of varied source groups and
sectors, one dismissed, one whose term ends soon and one whose term ended; the business-environment office
(`yingshang`, password as every demo account); enterprises; and feedback in each state of its life, one sent
back after 不满意 and one overdue at 督办. Supervisors sign in as `bf-sup1` … `bf-sup40`. Running it twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from blueprints.business_feedback.models import Assignment, Enterprise, FeedbackItem, Supervisor
from blueprints.business_feedback.services import act, appoint_supervisor, ensure_defaults, submit_item
from blueprints.business_feedback.services.base import Actor, today
from blueprints.business_feedback.services.enterprises import add_enterprise
from blueprints.business_feedback.services.supervision import supervise_overdue
from saas.auth import hash_password
from tenants import services as tenant_services
from tenants.models import OrgUnit, RoleGrant, Tenant, User

DEMO_DISTRICT = "lusong"
GROUPS = ("npc", "cppcc", "party", "entrepreneur", "expert", "media", "association", "worker", "farmer", "student",
          "retired", "technician")
SECTORS = ("制造业", "批发零售", "建筑业", "餐饮住宿", "信息技术", "物流运输", "金融", "文化旅游")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
GIVEN = "建华国强秀英志明海燕丽娟文博晓东春梅立新玉兰"
ENTERPRISES = (  # name, the first 17 characters of its credit code (the check digit is computed)
    ("株洲芦淞服饰产业园有限公司", "91430203MA4L00001"),
    ("湖南湘江物流有限公司", "91430203MA4L00002"),
    ("株洲市建宁食品有限公司", "91430203MA4L00003"),
    ("芦淞区白关丝瓜络专业合作社", "93430203MA4L00004"),
)
# (kind, area, enterprise index or None, description, where it ends: a path of steps)
ITEMS = (
    ("problem", "start", 0, "新办服装企业刻章、税务登记仍需分别跑两个窗口。", ""),
    ("suggestion", "services", None, "建议政务服务中心午间不间断服务，方便个体户。", ""),
    ("problem", "electricity", 1, "物流园新仓库报装用电已等待20天，尚未现场勘察。", "accept"),
    ("problem", "taxes", 2, "食品企业申请留抵退税材料被多次退回，要求不一致。", "accept answer"),
    ("problem", "construction", 0, "产业园二期施工许可审批环节多，希望并联审批。", "accept answer rate"),
    ("praise", "market", 3, "市场监管局上门指导合作社办理食品生产许可，效率很高。", "accept answer rate close"),
    ("market", "trade", None, "本月服装批发市场外地客商明显增多，夏装订单同比增长约三成。", "record"),
    ("problem", "start", 0, "新办服装企业刻章与税务登记需跑两个窗口（重复反映）。", "merge"),
    ("suggestion", "bidding", None, "希望公开本区招标代理机构的收费标准。", "decline"),
    ("problem", "credit", 2, "小微食品企业申请贷款贴息手续繁琐，答复未解决实际问题。", "accept answer return"),
)
DEPARTMENTS = {"start": "dept-admin-approval", "electricity": "dept-housing", "taxes": "dept-market",
               "construction": "dept-housing", "market": "dept-market", "credit": "dept-market"}


def seed(session: so.Session, tenant: Tenant) -> None:
    ensure_defaults(session, tenant)
    if tenant.slug != DEMO_DISTRICT or session.scalars(sa.select(Supervisor.id).limit(1)).first() is not None:
        return
    book = current_app.extensions["saas.roles"]
    root = tenant_services.district_root(session)
    password_hash = hash_password("wgt-demo-2026")
    office_user = session.scalars(sa.select(User).where(User.username == "yingshang")).first()
    if office_user is None:
        office_user = tenant_services.add_staff(session, None, name="区营商办", phone="13900000088",
                                                username="yingshang", password=None, password_hash=password_hash,
                                                audit_it=False)
        tenant_services.grant_role(session, book, None, office_user, "business_office", root, audit_it=False)
    office = _actor(session, book, office_user)
    start = today(session, tenant) - dt.timedelta(days=200)
    users = []
    for i in range(40):
        user = tenant_services.add_staff(session, None, name=SURNAMES[i] + GIVEN[i % len(GIVEN)] +
                                         GIVEN[(i * 7 + 3) % len(GIVEN)], phone=f"1370731{i:04d}",
                                         username=f"bf-sup{i + 1}", password=None, password_hash=password_hash,
                                         audit_it=False)
        term_start = start
        term_end = None
        if i == 38:  # the term ends in a fortnight
            term_start, term_end = start - dt.timedelta(days=500), today(session, tenant) + dt.timedelta(days=14)
        if i == 39:  # the term ended last month
            term_start, term_end = start - dt.timedelta(days=800), today(session, tenant) - dt.timedelta(days=30)
        appoint_supervisor(session, tenant, office, {
            "user_id": user.id, "kind_code": "invited" if i < 20 else "experience", "source_group": GROUPS[i % 12],
            "sector": SECTORS[i % len(SECTORS)], "batch": "第一批", "term_start": term_start, "term_end": term_end})
        users.append(user)
    dismissed = session.scalars(sa.select(Supervisor).where(Supervisor.user_id == users[37].id)).one()
    dismissed.dismissed_on = today(session, tenant)
    dismissed.dismissal_reason = "工作调动，本人申请辞去"
    firms = []
    for name, body in ENTERPRISES:
        from stdnum.cn import uscc

        firms.append(add_enterprise(session, tenant, office, {"name": name, "credit_code": body +
                                                              uscc.calc_check_digit(body), "sector": "",
                                                              "contact_name": "联系人",
                                                              "contact_phone": "13807330001"}))
    departments = {u.code: u for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "department"))}
    first_number = None
    for n, (kind, area, firm, text, path) in enumerate(ITEMS):
        supervisor = _actor(session, book, users[n % 20])
        item = submit_item(session, tenant, supervisor, {
            "kind": kind, "area_code": area, "enterprise_id": firms[firm].id if firm is not None else None,
            "description": text, "urgency": "normal", "show_name": n % 2 == 0})
        first_number = first_number or item.number
        department = departments.get(DEPARTMENTS.get(area, "dept-market"))
        for step in path.split():
            handler = _actor(session, book, _handler(session, department)) if department else office
            if step == "accept" and department is not None:
                act(session, tenant, office, item.id, "accept", {"department_ids": [department.id]})
            elif step == "answer":
                act(session, tenant, handler, item.id, "answer",
                    {"answer": "已约企业当面沟通，简化材料并明确办理时限。"})
            elif step == "rate":
                act(session, tenant, supervisor, item.id, "rate", {"rating": "satisfied" if n != 4 else "basically"})
            elif step == "return":
                act(session, tenant, supervisor, item.id, "rate", {"rating": "unsatisfied",
                                                                  "note": "答复只讲政策，手续没有减少。"})
            elif step == "merge":
                act(session, tenant, office, item.id, "merge", {"into": first_number})
            elif step == "decline":
                act(session, tenant, office, item.id, "decline", {"note": "收费标准已在公共资源交易平台公开。"})
            else:
                act(session, tenant, office, item.id, step, {})
    session.flush()
    # the electricity item is 12 working days late: 督办 reaches 挂牌督办
    late = session.scalars(sa.select(FeedbackItem).where(FeedbackItem.state == "assigned", FeedbackItem.returned == 0)
                           ).first()
    if late is not None:
        session.execute(sa.update(Assignment).where(Assignment.item_id == late.id)
                        .values(deadline_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=20)))
        supervise_overdue(session, tenant, Actor.system(book, {"business_feedback"}))
    session.flush()
    _visits(session, tenant, book, office, firms, password_hash)


def _visits(session: so.Session, tenant: Tenant, book: Any, office: Actor, firms: list[Any],
            password_hash: str) -> None:
    """万人助万企: a cadre helps the first two enterprises; the first was visited 100 days ago (a visit is due)."""
    from blueprints.business_feedback.services import visits

    cadre = tenant_services.add_staff(session, None, name="周助企", phone="13707330999", username="bf-cadre",
                                      password=None, password_hash=password_hash, audit_it=False)
    tenant_services.grant_role(session, book, None, cadre, "enterprise_cadre", tenant_services.district_root(session),
                               audit_it=False)
    session.flush()
    for firm in firms[:2]:
        visits.assign_cadre(session, tenant, office, firm.id, {"user_id": cadre.id})
    visits.log_visit(session, tenant, _actor(session, book, cadre), firms[0].id, {
        "visited_on": today(session, tenant) - dt.timedelta(days=100), "visitors": "周助企、区工信局王科长",
        "findings": "订单增加，流动资金紧张，缺熟练焊工。", "outcome": "对接区农商行授信；发布招工信息。",
        "loans_yuan": 3_000_000, "workers_recruited": 12, "approvals_unblocked": 1,
        "problems": [{"kind": "problem", "area_code": "credit", "description": "首贷需抵押，厂房未办证无法抵押。",
                      "urgency": "normal"}]})
    session.flush()


def _actor(session: so.Session, book: Any, user: User) -> Actor:
    session.flush()
    session.expire(user, ["grants"])
    return Actor(user, book, frozenset({"business_feedback"}))


def _handler(session: so.Session, department: OrgUnit) -> User:
    return session.scalars(sa.select(User).join(RoleGrant, sa.and_(
        RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id)).where(
        RoleGrant.org_unit_id == department.id, RoleGrant.role == "dept_handler").order_by(User.id)).one()


__all__ = ["Enterprise", "seed"]
