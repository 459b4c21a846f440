"""Demo districts built from the source reports (see DESIGN.md): 芦淞区 and 万柏林区.

芦淞区 gets its reported size, 288 grids and 357 grid workers; 万柏林区 gets 晋祠路社区 with its 13
compounds and 7,119 households, one compound of 1,200 households split into 3 grids, and the
公园路 and 漪汾苑 communities. Every module that exists is switched on and fills itself through its
manifest's `demo` hook. Running it twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import current_app

from saas import db
from saas.auth import hash_password
from saas.permissions import RoleBook
from tenants import services
from tenants.models import OrgUnit, PlatformOperator, Tenant, User

DEMO_PASSWORD = "wgt-demo-2026"  # noqa: S105 - published in the README for the demo only


class _Seed:
    id = None
    name = "演示数据"


LUSONG_STREETS = ["建设街道", "贺家土街道", "庆云街道", "建宁街道", "枫溪街道", "龙泉街道", "白关镇"]
JINCI_COMPOUNDS = [  # 13 compounds, 7,119 households in all
    ("晋祠路一号院", 1200), ("和平苑", 652), ("南寒小区", 588), ("康宁街小区", 540), ("桃园小区", 506),
    ("化工宿舍", 498), ("铁路家属院", 476), ("千峰苑", 455), ("电力小区", 452), ("商务厅宿舍", 440),
    ("新建北区", 436), ("晋祠路四号院", 430), ("西峪小区", 446),
]
DEPARTMENTS = [
    ("dept-water", "区水务局"), ("dept-housing", "区住建局"), ("dept-urban", "区城管局"),
    ("dept-market", "区市场监管局"),
    ("dept-civil", "区民政局"), ("dept-health", "区卫健局"), ("dept-admin-approval", "区行政审批局"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文海燕晓东春雪慧"


def _name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13 + 5) % len(GIVEN)]


def _phone(seed: int, i: int) -> str:
    return f"1{[3, 5, 7, 8, 9][i % 5]}{seed:01d}{i:08d}"[:11]


def seed() -> Iterator[str]:
    session = db.session()
    db.set_platform(True, session)  # the demo builds districts and the platform's operator, as the platform would
    book: RoleBook = current_app.extensions["saas.roles"]
    registry = current_app.extensions["saas.modules"]
    if session.scalars(sa.select(PlatformOperator).where(PlatformOperator.username == "operator")).first() is None:
        session.add(PlatformOperator(username="operator", name="平台运营", password_hash=hash_password(DEMO_PASSWORD)))
        session.commit()
        yield "platform operator: operator"
    password_hash = hash_password(DEMO_PASSWORD)
    for slug, name_zh, name_en, build in (
        ("lusong", "芦淞区", "Lusong District", _build_lusong),
        ("wanbailin", "万柏林区", "Wanbailin District", _build_wanbailin),
    ):
        tenant = session.scalars(sa.select(Tenant).where(Tenant.slug == slug)).first()
        if tenant is None:
            tenant = services.create_tenant(session, _Seed(), slug, name_zh, name_en)
            session.commit()
        with db.tenant_context(tenant.id):
            if session.scalars(sa.select(User).where(User.username == "admin")).first() is None:
                counts = build(session, book, password_hash)
                session.commit()
                yield f"{slug}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
            for spec in registry:
                services.set_module(session, registry, _Seed(), spec.key, True)
                if spec.demo is not None:
                    spec.demo(session, tenant)
            session.commit()
            yield f"{slug}: modules on: {', '.join(registry.keys()) or '-'}"
    yield f"sign in at /t/<slug>/login as admin / {DEMO_PASSWORD}"


def _unit(session: Any, kind: str, code: str, name: str, parent: OrgUnit, **attrs: Any) -> OrgUnit:
    return services.add_org_unit(session, _Seed(), kind=kind, code=code, name=name, parent=parent, attrs=attrs,
                                 audit_it=False)


def _staff(session: Any, book: RoleBook, password_hash: str, name: str, username: str | None, phone: str | None,
           role: str, unit: OrgUnit) -> User:
    user = services.add_staff(session, _Seed(), name=name, phone=phone, username=username, password=None,
                              password_hash=password_hash, audit_it=False)
    services.grant_role(session, book, _Seed(), user, role, unit, audit_it=False)
    return user


def _departments(session: Any, root: OrgUnit, book: RoleBook, password_hash: str, seed_no: int) -> list[OrgUnit]:
    depts = []
    for i, (code, name) in enumerate(DEPARTMENTS):
        dept = _unit(session, "department", code, name, root)
        _unit(session, "section", f"{code}-office", f"{name}办公室", dept)
        _staff(session, book, password_hash, _name(900 + i), f"{code}-handler", _phone(seed_no, 900 + i),
               "dept_handler", dept)
        depts.append(dept)
    return depts


def _build_lusong(session: Any, book: RoleBook, password_hash: str) -> dict[str, int]:
    """芦淞区: 7 streets, 288 grids and 357 grid workers, as the district reported."""
    root = services.district_root(session)
    _staff(session, book, password_hash, "区网格中心管理员", "admin", "13900000001", "district_admin", root)
    _departments(session, root, book, password_hash, 1)
    grids: list[OrgUnit] = []
    communities = 0
    for s, street_name in enumerate(LUSONG_STREETS):
        street = _unit(session, "street", f"ls-s{s + 1}", street_name, root)
        _staff(session, book, password_hash, _name(800 + s), f"street{s + 1}", _phone(1, 800 + s), "street_officer",
               street)
        for c in range(6):
            community = _unit(session, "community", f"ls-s{s + 1}-c{c + 1}", f"{street_name[:2]}第{c + 1}社区", street)
            communities += 1
            _staff(session, book, password_hash, _name(700 + communities), f"cadre-ls-{communities}",
                   _phone(1, 700 + communities), "community_cadre", community)
            for _ in range(7 if len(grids) < 288 else 0):
                if len(grids) >= 288:
                    break
                n = len(grids) + 1
                grids.append(_unit(session, "grid", f"ls-g{n:03d}", f"{community.name}{n:03d}网格", community))
    # 357 grid workers: one per grid, and a second in the 69 busiest grids
    for i in range(357):
        grid = grids[i % len(grids)]
        username = "gw1" if i == 0 else None
        _staff(session, book, password_hash, _name(i), username, _phone(1, i), "grid_worker", grid)
    return {"streets": len(LUSONG_STREETS), "communities": communities, "grids": len(grids), "grid workers": 357}


def _build_wanbailin(session: Any, book: RoleBook, password_hash: str) -> dict[str, int]:
    """万柏林区: 晋祠路社区 (13 compounds, 7,119 households), 公园路社区 and 漪汾苑社区."""
    root = services.district_root(session)
    _staff(session, book, password_hash, "区网格中心管理员", "admin", "13900000002", "district_admin", root)
    _departments(session, root, book, password_hash, 2)
    street = _unit(session, "street", "wbl-jcl", "晋祠路街道", root)
    _staff(session, book, password_hash, _name(600), "street1", _phone(2, 600), "street_officer", street)
    jinci = _unit(session, "community", "wbl-jinci", "晋祠路社区", street, households=7119, cadres=11)
    others = [
        _unit(session, "community", "wbl-gongyuan", "公园路社区", street),
        _unit(session, "community", "wbl-yifen", "漪汾苑社区", street),
    ]
    grids = []
    compounds = []
    for i, (name, households) in enumerate(JINCI_COMPOUNDS):
        if households == 1200:
            # the compound of 1,200 households is three grids
            parts = [_unit(session, "grid", f"wbl-jinci-g{i + 1}-{k}", f"{name}{k}网格", jinci) for k in (1, 2, 3)]
            grids.extend(parts)
            compounds.append(_unit(session, "compound", f"wbl-jinci-cp{i + 1}", name, parts[0], households=households))
        else:
            grid = _unit(session, "grid", f"wbl-jinci-g{i + 1}", f"{name}网格", jinci)
            grids.append(grid)
            compounds.append(_unit(session, "compound", f"wbl-jinci-cp{i + 1}", name, grid, households=households))
    # 晋祠路社区's 11 cadres; which compounds each claims (包片) is grid_cases data, seeded by that module
    for k in range(11):
        _staff(session, book, password_hash, _name(500 + k), "cadre1" if k == 0 else None, _phone(2, 500 + k),
               "community_cadre", jinci)
    for community in others:
        for g in range(4):
            code, name = f"{community.code}-g{g + 1}", f"{community.name}{g + 1}网格"
            grids.append(_unit(session, "grid", code, name, community))
    for i, grid in enumerate(grids):
        _staff(session, book, password_hash, _name(300 + i), "gw1" if i == 0 else None, _phone(2, 300 + i),
               "grid_worker", grid)
    _staff(session, book, password_hash, _name(299), "leader1", _phone(2, 299), "grid_leader", grids[0])
    return {"communities": 3, "compounds": len(compounds), "grids": len(grids), "grid workers": len(grids),
            "households": sum(h for _, h in JINCI_COMPOUNDS)}
