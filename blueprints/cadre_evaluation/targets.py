"""Targets (评议对象) beyond the basic add/remove of services.py: their photo and their import from CSV/XLSX
through the kernel's import contract (`saas.imports`, the kind `TARGETS` declared in the manifest).

Both change only a campaign in preparation (draft, or with its target list published), as every change to the
targets does; each is audited. The import checks every row against the campaign (its areas, the targets already
there, the file's own duplicates) and writes all rows or none.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Campaign, Target
from blueprints.cadre_evaluation.schemas import CadreTargetIn
from saas import audit
from saas.actors import Actor, Refused, ServiceError
from saas.imports import Checked, ImportColumn, ImportContext, ImportKind, RawRow, load_row, row_error
from saas.pictures import read_picture
from tenants.models import Tenant

MAX_PHOTO_BYTES = 5 * 1024 * 1024
KIND = "cadre_evaluation.targets"
MAX_ROWS = 500
COLUMNS = (
    ImportColumn("name", _l("Full name"), "姓名", ("评议对象", "name")),
    ImportColumn("department", _l("Department"), "单位", ("部门", "所在单位", "department")),
    ImportColumn("section", _l("Section"), "科室", ("股室", "科室名称", "section")),
    ImportColumn("post", _l("Post"), "职务", ("岗位", "post"), required=False),
    ImportColumn("duties", _l("Duties"), "工作职责", ("职责", "duties"), required=False),
    ImportColumn("area", _l("Business area"), "业务领域", ("领域", "area"), required=False),
)


def set_photo(session: so.Session, tenant: Tenant, actor: Actor, target_id: int, data: bytes) -> Target:
    """A target's photo, re-encoded without its metadata (the kernel's picture handling); audited."""
    services._need(actor)
    target = session.scalars(sa.select(Target).where(Target.id == target_id)).first()
    if target is None:
        raise Refused(_("No such target."), 404)
    campaign = services.get_campaign(session, target.campaign_id)
    if campaign.state not in services.PREPARING:
        raise Refused(str(services.FROZEN), 409)
    try:
        picture = read_picture(data, MAX_PHOTO_BYTES)
    except ServiceError as err:
        raise ServiceError({"photo": next(iter(err.errors.values()))}) from None
    target.photo, target.photo_thumb = picture.data, picture.thumb
    session.flush()
    audit.record(session, actor, "cadre_evaluation.set_photo", "cadre_target", target.id,
                 after={"photo_bytes": len(picture.data)}, module=MODULE)
    return target


def photo(session: so.Session, target_id: int, *, thumb: bool = False) -> tuple[Target, bytes]:
    column = Target.photo_thumb if thumb else Target.photo
    target = session.scalars(sa.select(Target).options(so.undefer(column)).where(Target.id == target_id)).first()
    body = getattr(target, "photo_thumb" if thumb else "photo", None) if target is not None else None
    if target is None or body is None:
        raise Refused(_("No such photo."), 404)
    return target, body


def with_photo(session: so.Session, campaign: Campaign) -> set[int]:
    """The ids of the campaign's targets that have a photo (one query, no picture loaded)."""
    return set(session.scalars(sa.select(Target.id).where(Target.campaign_id == campaign.id,
                                                          Target.photo_thumb.is_not(None))))


MODULE = services.MODULE


# --- import -----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TargetsContext(ImportContext):
    """The kernel's import context with the campaign the targets join."""

    campaign_id: int | None = None


def _campaign(session: so.Session, context: ImportContext) -> Campaign:
    campaign_id = getattr(context, "campaign_id", None)
    if campaign_id is None:
        raise Refused(_("No such campaign."), 404)
    return services.get_campaign(session, campaign_id)


def check_rows(session: so.Session, context: ImportContext, raw_rows: list[RawRow]) -> Checked:
    """Each row through the target schema, its area one of the campaign's, no target twice (in the file or
    already in the campaign: the same name in the same section)."""
    checked = Checked(KIND, raw_rows, [], [])
    campaign = _campaign(session, context)
    if campaign.state not in services.PREPARING:
        checked.errors.append(row_error(0, _("Campaign"), str(services.FROZEN)))
        return checked
    seen = {(t.name, t.section) for t in services.list_targets(session, campaign)}
    labels = {c.key: c.label for c in COLUMNS}
    schema = CadreTargetIn()
    for line, raw in raw_rows:
        data, errors = load_row(schema, COLUMNS, raw)
        if errors:
            for key, messages in errors.items():
                checked.errors.append(row_error(line, labels.get(key, key), " ".join(map(str, messages))))
            continue
        if data.get("area") and data["area"] not in campaign.areas:
            checked.errors.append(row_error(line, labels["area"], _("Not one of the campaign's business areas.")))
            continue
        key = (data["name"], data["section"])
        if key in seen:
            checked.errors.append(row_error(line, labels["name"], _("%(name)s of %(section)s is already a target.",
                                                                    name=data["name"], section=data["section"])))
            continue
        seen.add(key)
        checked.rows.append((line, data))
    checked.counts = {"targets": len(checked.rows)}
    return checked


def write_rows(session: so.Session, context: ImportContext, checked: Checked) -> dict[str, Any]:
    """Every checked row added as a target (each audited), in the caller's transaction: all or nothing."""
    campaign = _campaign(session, context)
    added = [services.add_target(session, context.tenant, context.actor, campaign.id, data)
             for _line, data in checked.rows]
    return {"targets": len(added)}


TARGETS = ImportKind(KIND, _l("Targets of a rating campaign"), services.MANAGE, COLUMNS, check_rows, write_rows,
                     row_schema=CadreTargetIn, max_rows=MAX_ROWS, max_bytes=2 * 1024 * 1024, header_rows=5,
                     door=False)
