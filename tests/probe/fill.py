"""The cross-tenant probe's world and fillers: two districts with real data, B's values, and what to send.

The world is built the way the app builds districts: the kernel's services (through the test `Factory`)
and every module's `demo` hook. Both districts get the same shape (org units of each level, one person
per role of the RoleBook, a citizen, API tokens, notices, a calendar override, a case category, grid
cases reported for residents (one in a public category, one not, one from an Open311 client), audit
entries) with their own names, codes and phone numbers. B's identifying values are then read back from
the database as the owner, from every tenant table and every column, minus whatever A holds too (the
shared vocabulary: role keys, default categories, settings), so a module's new tables join "B's data"
without anyone listing them.

`MOUNTS` says how to ask each module's mount (the parameter naming the district, the one carrying a token,
the fields it reads) and what it publishes of a district to anyone; `DOOR_PUBLISHED` what a door shows.

Fillers say what to put in a URL variable or a form/JSON field of a given name. They are a mapping, so a
route with a new kind of variable needs one entry here; a URL variable nothing fills makes the probe fail
with the route's name.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask

from saas import auth, db, notice_settings
from saas.db import make_engine, tenant_tables
from saas.notify import Delivery, notify
from saas.schemas import mask_phone
from tenants.models import PlatformOperator, Tenant, User
from tests.plugin import Factory, operator_session_data, session_data

A_SLUG, B_SLUG = "alpha", "beta"
WRONG_PASSWORD = "probe-wrong-password-1"
MAX_IDS_PER_TABLE = 2  # the first and the last row: a scoping bug is a table's, not a row's


# --- the world ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Identity:
    """Someone who asks: a signed session cookie for pages and/or a bearer token for the API."""

    name: str
    cookie: str | None = None
    token: str | None = None


@dataclasses.dataclass
class District:
    tenant_id: int
    slug: str
    public: frozenset[str]  # slug and names: on the landing page, for anyone to read
    private: set[str]  # every identifying value of its rows, and its tokens in plain
    ids: dict[str, list[int]]  # table -> row ids
    columns: dict[str, list[str]]  # "table.column" and "column" -> the district's own values there
    tokens: list[str]
    module_keys: list[str]

    def values(self, *specs: str) -> list[str]:
        for spec in specs:
            if self.columns.get(spec):
                return self.columns[spec]
        return []


@dataclasses.dataclass
class World:
    app: Flask
    a: District
    b: District
    people: list[Identity]  # who of A asks: one person per role, a citizen, a platform operator, nobody
    b_token: Identity  # B's real token, sent to A's URLs
    owner: sa.Engine
    staged: list[str]  # B's imports waiting for confirmation (files, not rows)
    staged_files: dict[str, bytes] = dataclasses.field(default_factory=dict)

    def _staged_path(self, token: str) -> Path:
        return Path(self.app.config["IMPORT_STAGING_DIR"]) / f"{token}.import"

    def pending(self) -> set[str]:
        """B's staged imports still waiting: what no request of A may take or throw away."""
        if not self.staged_files:
            self.staged_files = {t: self._staged_path(t).read_bytes() for t in self.staged}
        return {t for t in self.staged if self._staged_path(t).exists()}

    def restage(self) -> None:
        """Put back what a request took, so the next route is judged on its own."""
        for token, blob in self.staged_files.items():
            self._staged_path(token).write_bytes(blob)

    def close(self) -> None:
        self.owner.dispose()
        directory = self.app.config.get("IMPORT_STAGING_DIR")
        if self.staged and directory:
            shutil.rmtree(directory, ignore_errors=True)

    def rows(self, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
        return tenant_rows(self.owner, tenant_id)

    def snapshot(self, tenant_id: int) -> dict[str, list[str]]:
        """A district's rows, read as the owner (no RLS, no ORM filter), in a comparable form."""
        rows = self.rows(tenant_id)
        return {t: sorted(json.dumps(r, default=str, sort_keys=True) for r in rs) for t, rs in rows.items()}

    def strings(self, tenant_id: int) -> set[str]:
        return {s for rs in self.rows(tenant_id).values() for r in rs for v in r.values() for s in _leaves(v)}


def build_world(app: Flask) -> World:
    factory = Factory(app)
    a_people = _build_district(factory, A_SLUG, "甲区", "甲", "1381234", "2031-05-06")
    b_people = _build_district(factory, B_SLUG, "乙区", "乙", "1397654", "2031-05-07")
    with app.app_context(), db.platform_context():
        op = PlatformOperator(username="probe-operator", name="探针运营", password_hash=auth.hash_password("x" * 12))
        db.session.add(op)
        db.session.commit()
        operator_id = op.id
    owner = make_engine(app.config["MIGRATE_DATABASE_URL"])
    a_rows, b_rows = tenant_rows(owner, a_people.tenant_id), tenant_rows(owner, b_people.tenant_id)
    a = _district(a_people, a_rows, b_rows)
    b = _district(b_people, b_rows, a_rows)
    people = [Identity(role, _cookie(app, _signed_in(app, uid, a.tenant_id)), token)
              for role, (uid, token) in a_people.people.items()]
    operator = _cookie(app, operator_session_data(app, operator_id))
    people += [Identity("platform_operator", operator), Identity("anonymous")]
    b_admin = Identity("B's admin", _cookie(app, _signed_in(app, b_people.people["district_admin"][0], b.tenant_id)))
    staged = _stage_import(app, b.slug, b_admin)
    b.tokens[:0] = staged
    b.private |= set(staged)
    return World(app, a, b, people, Identity("B's token", token=b_people.people["district_admin"][1]), owner,
                 staged)


def _stage_import(app: Flask, slug: str, admin: Identity) -> list[str]:
    """B's admin uploads a file and leaves it waiting for confirmation: B's pending work, named by a token."""
    if "imports.preview" not in app.view_functions:
        return []
    staging = tempfile.mkdtemp(prefix="wgt-probe-imports-")
    app.config["IMPORT_STAGING_DIR"] = staging
    upload = csv_upload({"kind": "street", "code": f"{slug}-staged", "name": "乙秘待导入街道", "parent_code": slug})
    response = app.test_client(use_cookies=False).post(
        f"/t/{slug}/admin/import/org", data={"file": (io.BytesIO(upload), "staged.csv")},
        headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={admin.cookie}"})
    found = re.search(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"', response.get_data(True))
    assert response.status_code == 200, f"B's admin could not stage an import ({response.status_code})"
    assert found, "B's staged import shows no token"
    return [found.group(1) or found.group(2)]


@dataclasses.dataclass
class _Built:
    tenant_id: int
    slug: str
    names: tuple[str, str]
    people: dict[str, tuple[int, str]]  # role (or "citizen") -> (user id, plain token)
    module_keys: list[str]
    secrets: list[str]  # kept encrypted in the database, so looked for in plain


def _build_district(factory: Factory, slug: str, name_zh: str, mark: str, phone_head: str, day: str) -> _Built:
    """One district with the same shape as the other: only names, codes, phones and the override day differ."""
    app = factory.app
    registry, book = app.extensions["saas.modules"], app.extensions["saas.roles"]
    tenant = factory.tenant(slug, name_zh, modules=tuple(registry.keys()))
    with factory.as_tenant(tenant) as s:
        for spec in registry:
            if spec.demo is not None:
                spec.demo(s, tenant)
        s.commit()
    for kind, code, parent, name in (
        ("street", f"{slug}-street", None, f"{mark}秘街道"),
        ("community", f"{slug}-community", f"{slug}-street", f"{mark}秘社区"),
        ("grid", f"{slug}-grid", f"{slug}-community", f"{mark}秘网格"),
        ("compound", f"{slug}-compound", f"{slug}-grid", f"{mark}秘小区"),
        ("department", f"{slug}-dept", None, f"{mark}秘水务局"),
        ("section", f"{slug}-section", f"{slug}-dept", f"{mark}秘供水科"),
    ):
        factory.unit(tenant, kind, code, parent, name=name)
    users = {role: factory.user(tenant, role, name=f"{mark}秘人员{i:02d}", username=f"{slug}-{role}",
                                phone=f"{phone_head}{i:04d}") for i, role in enumerate(book.roles)}
    with factory.as_tenant(tenant) as s:
        citizen = auth.citizen_for_phone(f"{phone_head}9999")
        auth.issue_phone_code(f"{phone_head}9999")
        s.commit()
        users["citizen"] = citizen
    people = {role: (u.id, factory.token(u)) for role, u in users.items()}
    secret = f"{slug}-sms-secret-{phone_head}"
    with factory.as_tenant(tenant) as s:
        admin = s.scalars(sa.select(User).where(User.id == users["district_admin"].id)).one()
        # a gateway that is never there (.invalid never resolves): notices sent in-process fail fast and offline
        notice_settings.save_channel(s, admin, "sms", {"url": f"http://sms.invalid/{slug}-sms", "secret": secret,
                                                       "sign_name": f"{mark}秘签名"}, True)
        for i, role in enumerate(("district_admin", "grid_worker", "citizen")):
            notify(s, users[role].id, "auth.phone_code", {"code": f"{mark}秘通知{i}"})
        from tenants import district

        s.flush()
        for delivery in s.scalars(sa.select(Delivery).limit(1)):
            delivery.status, delivery.last_error = "dead", f"{mark}秘投递失败"
        district.add_calendar_day(s, admin, {"date": day, "is_workday": False, "note": f"{mark}秘调休"})
        s.commit()
    if "grid_cases" in registry:
        _grid_cases(factory, tenant, slug, mark, phone_head, users)
    if "business_feedback" in registry:
        _business_feedback(factory, tenant, slug, mark, users)
    if "elderly_visits" in registry:
        _elderly_visits(factory, tenant, slug, mark, phone_head, users)
    if "cadre_evaluation" in registry:
        _cadre_evaluation(factory, tenant, mark, phone_head, users)
    return _Built(tenant.id, slug, (tenant.name_zh, tenant.name_en), people, list(registry.keys()), [secret])


def _grid_cases(factory: Factory, tenant: Any, slug: str, mark: str, phone_head: str, users: dict[str, Any]) -> None:
    """Cases in several steps, with photos, timelines and ratings, a quick note, a claimed compound and a common
    problem, made by the district's own people through the module's services (so every grid_cases table holds
    rows of the district). The role holders get a second grant on the unit where their role acts."""
    import io

    from PIL import Image

    from blueprints.grid_cases.services import act, add_category, report_case
    from blueprints.grid_cases.services.base import Actor
    from blueprints.grid_cases.services.common import link_common
    from blueprints.grid_cases.services.notes import add_note, claim_compound
    from saas.pictures import Upload
    from tenants import services as tenant_services

    book = factory.app.extensions["saas.roles"]
    registry = factory.app.extensions["saas.modules"]
    with factory.as_tenant(tenant) as s:
        admin = s.scalars(sa.select(User).where(User.id == users["district_admin"].id)).one()
        add_category(s, admin, {"code": f"{slug}-cat", "name": f"{mark}秘类别", "deadline_days": 4,
                                "department_code": f"{slug}-dept", "description": f"{mark}秘类别说明"})
        # case numbers of its own (XD-... would be both districts' first number of the day)
        tenant_services.update_module_settings(s, registry, admin, "grid_cases",
                                               {"case_prefix": f"{slug[:2].upper()}Q"})
        # cases with residents' contact details: one in its own category (public), one in a category that is
        # not public (a neighbours' dispute), one from an Open311 client (with a token)
        actor = Actor(admin, book, frozenset(registry.keys()))
        for i, (category, source) in enumerate(((f"{slug}-cat", "phone"), ("dispute", "phone"),
                                                (f"{slug}-cat", "open311"))):
            report_case(s, tenant, actor, {
                "category_code": category, "location_code": f"{slug}-compound", "urgency": "normal",
                "address": f"{mark}秘地址{i}", "description": f"{mark}秘事件描述{i}", "lat": 37.8 + i, "lng": 112.5,
                "reporter_name": f"{mark}秘报告人{i}", "reporter_phone": f"{phone_head}88{i:02d}",
                "media_url": f"https://img.example.cn/{slug}-case-{i}.jpg"}, source=source)
        s.commit()
    for role, unit in (("grid_worker", "grid"), ("community_cadre", "community"), ("street_officer", "street"),
                       ("dept_handler", "dept")):
        with factory.as_tenant(tenant) as s:
            user = s.scalars(sa.select(User).where(User.id == users[role].id)).one()
            tenant_services.grant_role(s, book, None, user, role, tenant_services.org_unit_by_code(s, f"{slug}-{unit}"))
            s.commit()
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (10, 120, 200)).save(out, "JPEG")
    photo = (Upload(f"{slug}-photo.jpg", out.getvalue()),)

    def step(who: str, case: Any, action: str, **data: Any) -> Any:
        with factory.as_tenant(tenant) as s:
            person = s.scalars(sa.select(User).where(User.id == users[who].id)).one()
            done = act(s, tenant, Actor(person, book, frozenset({"grid_cases"})), case.id, action,
                       {"version": case.version, **data})
            s.commit()
            return done

    def report(who: str, text: str, **data: Any) -> Any:
        with factory.as_tenant(tenant) as s:
            person = s.scalars(sa.select(User).where(User.id == users[who].id)).one()
            case = report_case(s, tenant, Actor(person, book, frozenset({"grid_cases"})), {
                "category_code": f"{slug}-cat", "location_code": f"{slug}-compound", "description": text,
                "address": f"{mark}秘地址", **data}, photo, source="web" if who == "citizen" else "patrol")
            s.commit()
            return case

    report("citizen", f"{mark}秘居民反映")
    report("citizen", f"{mark}秘居民二次反映")
    with factory.as_tenant(tenant) as s:
        cadre = s.scalars(sa.select(User).where(User.id == users["community_cadre"].id)).one()
        cadre_actor = Actor(cadre, book, frozenset({"grid_cases"}))
        claim_compound(s, cadre_actor, f"{slug}-compound")
        link_common(s, tenant, cadre_actor, place_code=f"{slug}-compound", category_code=f"{slug}-cat",
                    title=f"{mark}秘共性问题")
        worker = s.scalars(sa.select(User).where(User.id == users["grid_worker"].id)).one()
        add_note(s, tenant, Actor(worker, book, frozenset({"grid_cases"})),
                 {"kind": "patrol", "text": f"{mark}秘随手记"}, photo)
        s.commit()
    fixed = report("grid_worker", f"{mark}秘巡查发现", reporter_phone=f"{phone_head}8899")
    for action, extra in (("handle", {}), ("resolve", {"result": f"{mark}秘办理结果"}), ("verify", {}),
                          ("close", {})):
        fixed = step("grid_worker", fixed, action, **extra)
    sent = report("grid_worker", f"{mark}秘派遣事件")
    for who, action, extra in (("grid_worker", "escalate", {"note": f"{mark}秘上报理由"}),
                               ("community_cadre", "accept", {}), ("community_cadre", "escalate", {}),
                               ("street_officer", "accept", {}),
                               ("street_officer", "dispatch", {"department_code": f"{slug}-dept"}),
                               ("dept_handler", "take", {})):
        sent = step(who, sent, action, **extra)


def _business_feedback(factory: Factory, tenant: Any, slug: str, mark: str, users: dict[str, Any]) -> None:
    """The district's supervisor on the roster, an enterprise, items at triage, at the department (overdue, at
    督办), answered and merged, made through the module's services (so every business_feedback table holds rows
    of the district)."""
    import datetime as dt

    from stdnum.cn import uscc

    from blueprints.business_feedback.models import Assignment
    from blueprints.business_feedback.services import act, appoint_supervisor, record_coordination, submit_item
    from blueprints.business_feedback.services.base import Actor
    from blueprints.business_feedback.services.enterprises import add_enterprise
    from blueprints.business_feedback.services.supervision import supervise_overdue
    from tenants import services as tenant_services

    book = factory.app.extensions["saas.roles"]
    registry = factory.app.extensions["saas.modules"]
    body = "91140100" + ("MA0A0001" if slug.startswith("a") else "MA0B0002") + "X"

    def actor(s: Any, role: str) -> Actor:
        return Actor(s.scalars(sa.select(User).where(User.id == users[role].id)).one(), book,
                     frozenset(registry.keys()))

    with factory.as_tenant(tenant) as s:
        tenant_services.update_module_settings(s, registry, actor(s, "district_admin").user, "business_feedback",
                                               {"item_prefix": f"{slug[:2].upper()}F",
                                                "certificate_prefix": f"{mark}秘聘",
                                                "supervision_prefix": f"{mark}秘督"})
        office = actor(s, "business_office")
        appoint_supervisor(s, tenant, office, {"user_id": users["supervisor"].id, "kind_code": "smart",
                                               "source_group": "expert", "sector": f"{mark}秘行业",
                                               "batch": f"{mark}秘批次"})
        firm = add_enterprise(s, tenant, office, {"name": f"{mark}秘企业", "contact_name": f"{mark}秘联系人",
                                                  "credit_code": body + uscc.calc_check_digit(body)})
        dept = tenant_services.org_unit_by_code(s, f"{slug}-dept")
        second = tenant_services.add_org_unit(s, None, kind="department", code=f"{slug}-dept2",
                                              name=f"{mark}秘税务局", parent=tenant_services.district_root(s))
        s.commit()
        items = []
        for i in range(4):
            supervisor = actor(s, "supervisor")
            items.append(submit_item(s, tenant, supervisor, {
                "kind": "problem", "area_code": "start", "enterprise_id": firm.id, "urgency": "normal",
                "description": f"{mark}秘反映{i}", "show_name": i % 2 == 0}))
            s.commit()
        office = actor(s, "business_office")
        act(s, tenant, office, items[1].id, "accept", {"department_ids": [dept.id, second.id]})
        act(s, tenant, office, items[2].id, "accept", {"department_ids": [dept.id]})
        act(s, tenant, office, items[3].id, "merge", {"into": items[0].number})
        s.commit()
        record_coordination(s, tenant, actor(s, "business_office"), items[1].id,
                            {"participants": f"{mark}秘参加人", "outcome": f"{mark}秘协商结果"})
        act(s, tenant, actor(s, "dept_handler"), items[2].id, "answer", {"answer": f"{mark}秘答复"})
        s.execute(sa.update(Assignment).where(Assignment.item_id == items[1].id)
                  .values(deadline_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30)))
        supervise_overdue(s, tenant, Actor.system(book, frozenset(registry.keys())))
        s.commit()
        # 万人助万企: the district's cadre helps the enterprise and logged a visit with a problem found
        from blueprints.business_feedback.services import visits

        visits.assign_cadre(s, tenant, actor(s, "business_office"), firm.id, {"user_id": users["enterprise_cadre"].id})
        visits.log_visit(s, tenant, actor(s, "enterprise_cadre"), firm.id, {
            "visited_on": dt.date.today() - dt.timedelta(days=1), "visitors": f"{mark}秘走访人",
            "findings": f"{mark}秘发现", "outcome": f"{mark}秘成效", "loans_yuan": 1000, "workers_recruited": 2,
            "approvals_unblocked": 1, "problems": [{"kind": "problem", "area_code": "credit", "urgency": "normal",
                                                    "description": f"{mark}秘走访问题"}]})
        s.commit()


def _elderly_visits(factory: Factory, tenant: Any, slug: str, mark: str, phone_head: str,
                    users: dict[str, Any]) -> None:
    """A resident on the registry with health notes and a contact, a visit whose need became a grid case, an open
    need and an emergency with an action, made through the module's services by the district's own people (the
    grid worker's grant on the grid comes from `_grid_cases`)."""
    import datetime as dt

    from blueprints.elderly_visits import services as ev
    from blueprints.elderly_visits.demo import resident_id
    from saas.actors import Actor
    from saas.auth import citizen_for_phone as ev_citizen

    book = factory.app.extensions["saas.roles"]
    on = frozenset(factory.app.extensions["saas.modules"].keys())
    with factory.as_tenant(tenant) as s:
        admin = s.scalars(sa.select(User).where(User.id == users["district_admin"].id)).one()
        worker = s.scalars(sa.select(User).where(User.id == users["grid_worker"].id)).one()
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=int(phone_head[-3:]))
        person = ev.register_person(s, tenant, Actor(admin, book, on), {
            "name": f"{mark}秘老人", "sex": "f", "birth_date": birth, "id_number": resident_id("110101", birth, 2),
            "phone": f"{phone_head}7700", "grid_code": f"{slug}-grid", "place_code": f"{slug}-compound",
            "room": f"{mark}秘房号", "address": f"{mark}秘老人地址", "categories": ["alone"], "living": f"{mark}秘居住",
            "conditions": f"{mark}秘病情", "care_notes": f"{mark}秘照护", "worker_id": worker.id,
            "backup_worker_id": None, "frequency_days": None, "consent": True, "consent_note": f"{mark}秘同意",
            "contacts": [{"name": f"{mark}秘家属", "relation": f"{mark}秘关系", "phone": f"{phone_head}7701"}]})
        by_worker = Actor(worker, book, on)
        ev.log_visit(s, tenant, by_worker, person.id, {
            "kind": "home", "health": "fair", "mood": "poor", "needs": ["repair"], "risks": ["fall"],
            "notes": f"{mark}秘走访记录", "need_note": f"{mark}秘需求", "make_case": True, "visited_at": None,
            "duration_min": 30, "client_key": f"{slug}-visit-key"})
        ev.log_visit(s, tenant, by_worker, person.id, {
            "kind": "phone", "health": "good", "mood": "good", "needs": ["company"], "risks": [],
            "notes": f"{mark}秘电话", "need_note": f"{mark}秘陪聊", "make_case": False, "visited_at": None,
            "duration_min": None, "client_key": None})
        emergency = ev.raise_emergency(s, tenant, by_worker, person.id,
                                       {"kind": "fall", "description": f"{mark}秘跌倒"})
        ev.add_action(s, by_worker, emergency.id, {"kind": "called_120", "note": f"{mark}秘已呼叫", "version": None})
        # a neighbour's report nobody on the registry matched (an emergency without a resident, the reporter's
        # phone on it) and one the family raised
        from blueprints.elderly_visits.neighbours import report_neighbour_emergency

        report_neighbour_emergency(s, tenant, {"grid": f"{slug}-grid", "name": f"{mark}秘邻居老人",
                                               "room": f"{mark}秘邻居房号", "kind": "no_answer",
                                               "description": f"{mark}秘敲门不应", "phone": f"{phone_head}7702"})
        relative = Actor(ev_citizen(f"{phone_head}7701", s), book, on)
        ev.raise_family_emergency(s, tenant, relative, person.id, {"kind": "illness", "description": f"{mark}秘家属报"})
        s.commit()


def _cadre_evaluation(factory: Factory, tenant: Any, mark: str, phone_head: str, users: dict[str, Any]) -> None:
    """An open campaign with a target, ballots in the box and one still waiting, and a draft campaign, made
    through the module's services by the district admin."""
    import datetime as dt

    from blueprints.cadre_evaluation import services as ce
    from saas.actors import Actor

    book = factory.app.extensions["saas.roles"]
    on = frozenset(factory.app.extensions["saas.modules"].keys())
    with factory.as_tenant(tenant) as s:
        admin = Actor(s.scalars(sa.select(User).where(User.id == users["district_admin"].id)).one(), book, on)
        campaign = ce.create_campaign(s, tenant, admin, {
            "name": f"{mark}秘评议活动", "period_start": dt.date(2023, 7, 1), "period_end": dt.date(2024, 6, 30),
            "min_ballots": 1})
        target = ce.add_target(s, tenant, admin, campaign.id, {"name": f"{mark}秘科长", "department": f"{mark}秘局",
                                                               "section": f"{mark}秘科", "post": "科长",
                                                               "duties": f"{mark}秘职责"})
        ce.create_campaign(s, tenant, admin, {"name": f"{mark}秘草稿活动", "period_start": dt.date(2024, 7, 1),
                                              "period_end": dt.date(2025, 6, 30)})
        ce.transition(s, tenant, admin, campaign.id, "open")
        s.commit()
        levels = {d["key"]: "satisfied" for d in campaign.dimensions}
        for i in range(2):
            ce.submit_ballot(s, tenant, campaign.id, f"{phone_head}66{i:02d}", {target.id: levels},
                             opinions={target.id: f"{mark}秘意见{i}"})
            s.commit()
        _cadre_channels(s, tenant, admin, campaign.id, target.id, levels, mark, phone_head)
        ce.move_ballots(s, campaign, everything=True)
        s.commit()
        ce.submit_ballot(s, tenant, campaign.id, f"{phone_head}6699", {target.id: levels})
        s.commit()
        _cadre_results(s, tenant, admin, mark, phone_head)


def _cadre_results(s: Any, tenant: Any, admin: Any, mark: str, phone_head: str) -> None:
    """A published campaign with a target's photo, per-network counts, a follow-up action with its document and
    a rectification item (blueprints/cadre_evaluation: targets.py, anomaly.py, followup.py)."""
    import datetime as dt
    import io

    from PIL import Image

    from blueprints.cadre_evaluation import anomaly, followup, targets
    from blueprints.cadre_evaluation import services as ce

    campaign = ce.create_campaign(s, tenant, admin, {
        "name": f"{mark}秘已公布活动", "period_start": dt.date(2022, 7, 1), "period_end": dt.date(2023, 6, 30),
        "min_ballots": 1})
    target = ce.add_target(s, tenant, admin, campaign.id, {"name": f"{mark}秘评议对象", "department": f"{mark}秘单位",
                                                           "section": f"{mark}秘股", "area": "纳税"})
    picture = io.BytesIO()
    Image.new("RGB", (30, 40), (10, 120, 200)).save(picture, "PNG")
    targets.set_photo(s, tenant, admin, target.id, picture.getvalue())
    ce.transition(s, tenant, admin, campaign.id, "open")
    s.commit()
    ce.submit_ballot(s, tenant, campaign.id, f"{phone_head}6700", {target.id: {
        d["key"]: "fair" for d in campaign.dimensions}})
    anomaly.record(s, tenant.id, campaign, [target.id], "203.0.113.7")
    s.commit()
    ce.transition(s, tenant, admin, campaign.id, "close")
    ce.transition(s, tenant, admin, campaign.id, "publish")
    followup.add_action(s, tenant, admin, target.id, {"kind": "notice", "taken_on": dt.date(2023, 8, 1),
                                                      "note": f"{mark}秘通报"}, [(f"{mark}秘.txt", b"secret")])
    followup.add_item(s, tenant, admin, target.id, {"source": "petitions", "text": f"{mark}秘整改",
                                                    "owner": f"{mark}秘责任人", "deadline": dt.date(2023, 9, 1)})
    s.commit()


def _cadre_channels(s: Any, tenant: Any, admin: Any, campaign_id: int, target_id: int, levels: dict[str, str],
                    mark: str, phone_head: str) -> None:
    """Cadre evaluation's channels: rater groups, seat codes, an invitation and a paper ballot."""
    from blueprints.cadre_evaluation import channels

    group = channels.add_group(s, tenant, admin, campaign_id, {"name": f"{mark}秘企业代表", "channel": "online",
                                                              "cap": 5})
    seats = channels.add_group(s, tenant, admin, campaign_id, {"name": f"{mark}秘观测员", "channel": "onsite"})
    channels.issue_seat_codes(s, tenant, admin, campaign_id, 2, seats.id)
    channels.issue_invitations(s, tenant, admin, campaign_id, group.id, [f"{phone_head}6610"])
    channels.enter_sheet(s, tenant, admin, campaign_id, f"{mark}秘001", {target_id: levels},
                         {target_id: f"{mark}秘纸质意见"})
    s.commit()


def _signed_in(app: Flask, user_id: int, tenant_id: int) -> dict[str, Any]:
    """A session cookie's data for a person, with the session opened on the server."""
    from types import SimpleNamespace

    return session_data(app, SimpleNamespace(id=user_id, tenant_id=tenant_id, kind="staff"))


def _cookie(app: Flask, data: dict[str, Any]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return serializer.dumps(data)


_EXISTING: dict[str, set[str]] = {}


def tenant_rows(owner: sa.Engine, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of one tenant, from every tenant table and the tenants table, read as the owner."""
    out: dict[str, list[dict[str, Any]]] = {}
    with owner.connect() as conn:
        key = str(owner.url)
        if key not in _EXISTING:
            _EXISTING[key] = set(sa.inspect(conn).get_table_names())
        for table in tenant_tables():
            if table.name in _EXISTING[key]:
                q = sa.select(table).where(table.c.tenant_id == tenant_id).order_by(*table.primary_key.columns)
                out[table.name] = [dict(r) for r in conn.execute(q).mappings()]
        t = Tenant.__table__
        out["tenants"] = [dict(r) for r in conn.execute(sa.select(t).where(t.c.id == tenant_id)).mappings()]
    return out


def _leaves(value: Any) -> Iterator[str]:
    """The identifying text in a value: strings, id-sized integers, and whatever JSON holds."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if value >= 10**12:  # ids are 63-bit and time-ordered: 18 digits and more
            yield str(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)


_DAY = re.compile(r"\d{4}-\d\d-\d\d")


def _identifying(text: str) -> bool:
    # short ASCII words are vocabulary ("on", "zh"), a two-character Chinese name is not; a day is anyone's
    return len(text) >= (4 if text.isascii() else 2) and not _DAY.fullmatch(text)


def _district(built: _Built, own: dict[str, list[dict[str, Any]]], other: dict[str, list[dict[str, Any]]]) -> District:
    others = {s for rs in other.values() for r in rs for v in r.values() for s in _leaves(v)}
    public = frozenset(x for x in (built.slug, *built.names) if x)
    private: set[str] = set()
    ids: dict[str, list[int]] = defaultdict(list)
    columns: dict[str, list[str]] = defaultdict(list)
    phones: set[str] = set()
    for table, rs in own.items():
        for row in rs:
            for col, value in row.items():
                if col == "id" and isinstance(value, int):
                    ids[table].append(value)
                if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    columns[f"{table}.{col}"].append(value.isoformat())
                    columns[col].append(value.isoformat())
                    continue
                for text in _leaves(value):
                    if text in others or not _identifying(text):
                        continue
                    private.add(text)
                    if col != "tenant_id":
                        columns[f"{table}.{col}"].append(text)
                        columns[col].append(text)
                if col == "phone" and value:
                    phones.add(value)
    other_masks = {mask_phone(p) for rs in other.values() for r in rs for p in [r.get("phone")] if p}
    private |= {mask_phone(p) for p in phones} - other_masks
    tokens = [token for _uid, token in built.people.values()]
    private |= set(tokens) | {t[:10] for t in tokens} | set(built.secrets)
    private.add(str(built.tenant_id))
    # a district's own codes and names first: its slug (the root unit's code) is public
    columns = {k: sorted(dict.fromkeys(v), key=lambda x: x in public) for k, v in columns.items()}
    return District(built.tenant_id, built.slug, public, private - public, dict(ids), columns, tokens,
                    built.module_keys)


# --- fillers --------------------------------------------------------------------------------------

# (B, variable or field name, endpoint) -> the values to try, best first
Filler = Callable[[District, str, str], list[Any]]

# an endpoint's words that name a table when a variable's own name does not ("item_id" in "shell.inbox_read")
ENDPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "inbox": ("notifications",),
}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _table_words(table: str) -> set[str]:
    parts = table.split("_")
    return {_singular(p) for p in parts} | set(parts)


def guess_tables(b: District, name: str, endpoint: str) -> list[str]:
    """The tables a variable's ids come from: by its name (`grant_id`), then the endpoint; [] when unsure."""
    stem = _singular(name.removesuffix("_id").removesuffix("id").strip("_"))
    if stem:
        hits = [t for t in b.ids if stem in _table_words(t)]
        if hits:
            return hits
    words = [w for w in re.split(r"[._\-]", endpoint) if w]
    for word in words:
        if word in ENDPOINT_TABLES:
            return [t for t in ENDPOINT_TABLES[word] if t in b.ids]
    hits = [t for t in b.ids if any(_singular(w) in _table_words(t) for w in words if len(w) > 3)]
    return hits


def _sample(ids: list[int]) -> list[int]:
    return list(dict.fromkeys([ids[0], ids[-1]]))[:MAX_IDS_PER_TABLE] if ids else []


def row_ids(*tables: str) -> Filler:
    """B's row ids: of the named tables, else of the tables the name suggests, else one or two of every table."""

    def fill(b: District, name: str, endpoint: str) -> list[Any]:
        chosen = [t for t in tables if t in b.ids] or guess_tables(b, name, endpoint) or sorted(b.ids)
        return [i for t in chosen for i in _sample(b.ids[t])]

    return fill


def column(*specs: str) -> Filler:
    """B's own values of a column ("table.column" or "column"), the first spec that has any."""
    return lambda b, _name, _endpoint: b.values(*specs)[:2]


def fixed(*values: Any) -> Filler:
    """Values that are no one's in particular (a role key, a boolean) but make the request plausible."""
    return lambda _b, _name, _endpoint: list(values)


def units_at_depth(depth: int) -> Filler:
    """B's org units at one depth of the tree (the district 0, a street 1, a community 2, a grid 3), read from their
    paths; any unit of B when it has none there."""

    def fill(b: District, name: str, endpoint: str) -> list[Any]:
        found = [int(p.strip("/").rsplit("/", 1)[-1]) for p in b.values("org_units.path") if p.count("/") == depth + 2]
        return _sample(found) or row_ids("org_units")(b, name, endpoint)

    return fill


def module_keys(b: District, _name: str, _endpoint: str) -> list[Any]:
    return list(b.module_keys)


def tokens(b: District, _name: str, _endpoint: str) -> list[Any]:
    # a staged import's token first (a form field takes the first value), then an Open311 request's token
    return b.tokens[:1] + b.values("grid_cases_cases.token")[:1]


def channels(_b: District, _name: str, _endpoint: str) -> list[Any]:
    from saas.notify import CHANNELS

    return list(CHANNELS)


FILLERS: dict[str, Filler] = {
    # ids and keyset cursors
    "id": row_ids(),
    "*_id": row_ids(),
    "before": row_ids("audit_entries"),
    "after": row_ids("org_units"),
    "grid_id": units_at_depth(3),
    "community_id": units_at_depth(2),
    # codes and keys
    "code": column("org_units.code", "code"),
    "service_code": column("grid_cases_categories.code"),  # Open311: a category
    "service_request_id": column("grid_cases_cases.number"),  # Open311: a case number
    "number": column("grid_cases_cases.number"),  # a case number (the residents' pages)
    "*_code": column("org_units.code", "code"),
    "key": module_keys,
    "channel": channels,
    "module": module_keys,
    "slug": lambda b, _n, _e: [b.slug],
    "queue": fixed("notify"),  # the platform's job board: a queue of RQ's
    "q": column("users.name"),
    # grid cases: B's own texts, codes and people, so a request reaches the look-ups
    "category_code": column("grid_cases_categories.code"),
    "category": column("grid_cases_categories.code"),
    "place_code": column("org_units.code"),
    "compound_code": column("org_units.code"),
    "grid": column("org_units.code"),
    "grid_code": column("org_units.code"),
    "reporter_phone": column("users.phone"),
    "reporter_name": column("users.name"),
    "description": column("grid_cases_cases.description"),
    "result": column("grid_cases_cases.result"),
    "text": column("grid_cases_notes.text"),
    "comment": column("grid_cases_cases.description"),
    "address": column("grid_cases_cases.address"),
    "case_ids": lambda b, _n, _e: [[str(i) for i in b.ids.get("grid_cases_cases", [])[:2]]],
    "version": fixed(1),
    "rating": fixed("satisfied"),
    "urgency": fixed("normal"),
    "source": fixed("patrol"),
    "stage": fixed("report"),
    "size": fixed("thumb"),
    "view": fixed("area"),
    "state": fixed("open"),
    # people
    "phone": column("users.phone"),
    "mobile": column("users.phone"),
    "username": column("users.username"),
    "login": column("users.username"),
    "password": fixed(WRONG_PASSWORD),
    "token": tokens,
    "name": column("users.name"),
    "name_zh": column("org_units.name"),
    "name_en": column("org_units.name"),
    "actor": column("users.name"),
    "title": column("notifications.title", "name"),
    "body": column("notifications.body", "name"),
    "note": column("calendar_days.note", "name"),
    # days
    "day": column("calendar_days.day"),
    "date": column("calendar_days.day"),
    "start": column("calendar_days.day"),
    "since": column("calendar_days.day"),
    "until": column("calendar_days.day"),
    # vocabulary, so a request gets past its schema to the look-ups
    "role": fixed("grid_worker"),
    "kind": lambda _b, _n, endpoint: (["business_feedback.supervisors"] if "module" in endpoint.lower()
                                      else ["community"]),  # a module's kind of import, or a unit's kind
    "action": fixed("org.create"),
    "enabled": fixed(True),
    "is_workday": fixed(True),
    "active": fixed(True),
    "all": fixed(True),
    "dry_run": fixed(True),
    "until_office_close": fixed(False),
    "timezone": fixed("Asia/Shanghai"),
    "lang": fixed("en"),
    "year": fixed(2031),
    "month": fixed(5),
    "limit": fixed(50),
    "days": fixed(3),
    "deadline_days": fixed(5),
    "settings": fixed({}),
}
# fields a page's form may carry that the probe leaves alone
SKIP_FIELDS = {"csrf_token", "next", "view_year", "view_month"}
# what a form the probe found no template for gets, and the columns of an uploaded file: every field the fillers
# know by name, and the usual references to B's things
SAMPLE_FIELDS = (*(k for k in FILLERS if "*" not in k and k != "mobile"), "parent_code", "unit_code",
                 "department_code", "user_id", "org_unit_id")


# --- mounts ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MountWay:
    """How the probe asks a module's mount (`saas.modules.Mount`, a blueprint outside `/t/<tenant>/` that names
    the district itself): the parameter naming the district (its slug), the parameter carrying a personal API
    token, the fields a request may carry (filled with B's values), and what the mount shows anyone of a
    district, restated here from the module's own rule so that the probe can judge the answers."""

    tenant_param: str
    token_param: str | None
    fields: dict[str, Filler]
    published: Callable[[dict[str, list[dict[str, Any]]]], set[str]]


# the columns of a grid case that name an org unit
_CASE_UNITS = ("street_id", "community_id", "grid_id", "compound_id", "building_id", "unit_id", "level_unit_id",
               "department_id")


def open311_published(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """What Open311 shows anyone of a district (blueprints/grid_cases/services/open311.py): its active
    categories (code, name and the name's parts, description, the default department's name) and, of each
    case in a category marked public, its number, description, address, media_url and the names and codes
    of the org units it names. Nothing of its people, and nothing of a case in a category that is not public."""
    units = {u["id"]: u for u in rows.get("org_units", [])}
    categories = rows.get("grid_cases_categories", [])
    out: set[str] = set()
    for c in categories:
        if c["active"]:
            out |= {c["code"], c["name"], c["description"], *c["name"].split("/")}
            if c["department_id"] in units:
                out.add(units[c["department_id"]]["name"])
    public = {c["id"] for c in categories if c["public"]}
    for case in rows.get("grid_cases_cases", []):
        if case["category_id"] in public:
            out |= {case["number"], case["description"], case["address"], case["media_url"] or ""}
            out |= {units[case[col]][key] for col in _CASE_UNITS if case[col] in units for key in ("name", "code")}
    return {v for v in out if v}


MOUNTS: dict[str, MountWay] = {
    "/open311/v2": MountWay("jurisdiction_id", "api_key", {
        "service_request_id": column("grid_cases_cases.number"), "service_code": column("grid_cases_categories.code"),
        "status": fixed("open"), "address_id": column("org_units.code"),
        "address_string": column("grid_cases_cases.address"), "lat": fixed("37.86"), "long": fixed("112.55"),
        "description": column("grid_cases_cases.description"), "first_name": column("users.name"),
        "phone": column("users.phone"), "email": fixed("probe@example.cn"),
    }, open311_published),
}


def grids_published(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """What elderly visits' neighbour report offers anyone: the grids' codes and names
    (blueprints/elderly_visits/neighbour_views.py)."""
    return {v for u in rows.get("org_units", []) if u["kind"] == "grid" for v in (u["code"], u["name"]) if v}


def report_form_published(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """What grid cases' public report form offers anyone: the active categories' codes and names, and the grids'
    codes and names grouped under their communities' names (blueprints/grid_cases/views/public.py)."""
    units = {u["id"]: u for u in rows.get("org_units", [])}
    out = {v for c in rows.get("grid_cases_categories", []) if c["active"] for v in (c["code"], c["name"])}
    for unit in units.values():
        if unit["kind"] == "grid":
            out |= {unit["code"], unit["name"]}
            if unit["parent_id"] in units:
                out.add(units[unit["parent_id"]]["name"])
    return {v for v in out if v}


def cadre_public_published(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """What cadre evaluation's public pages show anyone: the campaigns past their draft, by id (their address)
    and name, and their targets (评议对象公示: name, department, section, post, duties, and the id that names
    the target's fields in the rating form) (blueprints/cadre_evaluation/views.py)."""
    shown = {c["id"]: c for c in rows.get("cadre_evaluation_campaigns", []) if c["state"] != "draft"}
    out = {v for c in shown.values() for v in (str(c["id"]), c["name"])}
    for t in rows.get("cadre_evaluation_targets", []):
        if t["campaign_id"] in shown:
            out |= {str(t["id"]), t["name"], t["department"], t["section"], t["post"], t["duties"], t["area"]}
    return {v for v in out if v}


# doors (the probe's TENANT_DOORS) that show anyone what the district publishes, by endpoint
DOOR_PUBLISHED: dict[str, Callable[[dict[str, list[dict[str, Any]]]], set[str]]] = {
    "grid_cases.report": report_form_published,
    "grid_cases.report_code": report_form_published,
    **{f"cadre_evaluation.{door}": cadre_public_published
       for door in ("public_list", "public", "send_code", "rate", "receipt", "seat", "rate_seat", "invited",
                    "rate_invited", "public_targets", "public_photo", "public_results")},
    "elderly_visits.neighbour_emergency": grids_published,
    "elderly_visits.neighbour_code": grids_published,
}


def mount_of(app: Flask, rule: Any) -> tuple[str, MountWay | None] | None:
    """The mount a rule belongs to (its prefix and how to ask it), or None for the kernel's own URL scheme."""
    for spec in app.extensions["saas.modules"]:
        for mount in spec.mounts:
            prefix = mount.url_prefix.rstrip("/")
            if rule.rule.startswith(prefix + "/"):
                return prefix, MOUNTS.get(prefix)
    return None


def mount_params(b: District, way: MountWay, endpoint: str) -> dict[str, Any]:
    return {name: as_form(values[0]) for name, fill in way.fields.items() if (values := fill(b, name, endpoint))}


def sample(b: District, endpoint: str) -> dict[str, str]:
    return {k: as_form(field_value(b, k, endpoint)) for k in SAMPLE_FIELDS if k != "settings"}


def filler_for(name: str) -> Filler | None:
    if name in FILLERS:
        return FILLERS[name]
    for pattern, fill in FILLERS.items():
        if pattern.startswith("*") and name.endswith(pattern[1:]):
            return fill
    return None


def field_value(b: District, name: str, endpoint: str, kind: str = "string") -> Any:
    """One value for a form or JSON field: B's where the name says what it is, else by type."""
    fill = filler_for(name)
    values = fill(b, name, endpoint) if fill else []
    if values:
        return values[0]
    if kind == "integer":
        return row_ids()(b, "id", endpoint)[0]
    if kind == "boolean":
        return True
    if kind == "array":
        return [str(i) for i in row_ids()(b, "id", endpoint)[:2]]
    if kind == "object":
        return {}
    return b.values("org_units.code")[0]


def as_form(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def csv_upload(fields: dict[str, str]) -> bytes:
    """A file for upload fields: a header of field names and one row of B's values (codes, phones, names)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    writer.writerow(fields.values())
    return buf.getvalue().encode("utf-8")


def leaves_sent(value: Any) -> Iterable[str]:
    """Everything a request carries as text, so an answer that echoes it is not counted as a leak."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from leaves_sent(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves_sent(v)
    elif isinstance(value, bytes):
        yield from re.split(r"[,\r\n]+", value.decode("utf-8", "replace"))
    elif value is not None:
        yield str(value)


# --- the app's own forms --------------------------------------------------------------------------


class FormFields(HTMLParser):
    """The forms of a page: their method, target and field names (with the input's type)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = "post" if a.get("hx-post") else (a.get("method") or "get").lower()
            target = a.get("hx-post") or a.get("hx-get") or a.get("action") or ""
            self._current = {"method": method, "action": target, "fields": {}}
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and self._current is not None and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            self._current["fields"].setdefault(a["name"], kind)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(html: str, page_path: str) -> list[tuple[str, str, dict[str, str]]]:
    """(method, path, fields) of every form of a page; a form without a target posts to the page itself."""
    parser = FormFields()
    parser.feed(html)
    return [(f["method"].upper(), urlsplit(f["action"]).path or page_path, f["fields"]) for f in parser.forms]
