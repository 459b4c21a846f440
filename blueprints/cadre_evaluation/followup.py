"""Follow-up of a campaign's results per target (评后跟踪督导), shared by the pages, the JSON API and the jobs.

- Actions taken on a target (表扬, 通报, 诫勉谈话, 调整岗位) with their date, a note and documents; a document
  is stored in the database, at most `MAX_DOCUMENT_BYTES`, of the kinds in `DOCUMENT_TYPES`.
- Rectification items: what the target's section must put right, with an owner (a unit or a person by name,
  optionally a staff member who is reminded), a deadline, a source (an opinion or one of the four lists) and
  the text; open → done. `item_from_text` is the door the raters' opinions use.
- Overdue items are reminded once per deadline by the periodic job `remind_overdue` (saas.notify), to their
  owner when one is a staff member, else to the campaign's organisers.
- The follow-up report: per target, its actions and its items open, done and overdue (page and XLSX).

Actions need the results (the campaign closed or later); items can be drawn from the opening on (opinions
arrive while the rating is open). Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Campaign, Target
from blueprints.cadre_evaluation.models_results import (
    ACTION_KINDS,
    ITEM_SOURCES,
    FollowUpAction,
    FollowUpDocument,
    RectificationItem,
)
from saas import audit
from saas.actors import Actor, Refused, ServiceError
from saas.exports import Column, ExportBook
from saas.notify import Recipients, notify
from saas.workdays import local_date
from tenants.models import RoleGrant, Tenant, User

MODULE = services.MODULE
ACTION_LABELS = {"praise": _l("Praise (表扬)"), "notice": _l("Public notice (通报)"),
                 "admonish": _l("Admonition talk (诫勉谈话)"), "reassign": _l("Post adjusted (调整岗位)")}
SOURCE_LABELS = {"opinion": _l("A rater's opinion"), "department_tasks": _l("Department task list (部门任务清单)"),
                 "enterprise_needs": _l("Enterprises' urgent needs (企业急难愁盼清单)"),
                 "petitions": _l("Petition findings (信访问题清单)"),
                 "slow_rectification": _l("Slow rectification list (整改缓慢清单)")}
ITEM_STATE_LABELS = {"open": _l("Open"), "done": _l("Done")}
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                  ".doc": "application/msword", ".docx": "application/vnd.openxmlformats-officedocument."
                  "wordprocessingml.document", ".xlsx": "application/vnd.openxmlformats-officedocument."
                  "spreadsheetml.sheet", ".txt": "text/plain"}
ACTIONS_FROM = ("closed", "published", "followup")


def _need(actor: Actor) -> None:
    if not actor.may(services.MANAGE):
        raise Refused(_("You do not have permission to do this."), 403)


def get_target(session: so.Session, target_id: int) -> tuple[Campaign, Target]:
    target = session.scalars(sa.select(Target).where(Target.id == target_id)).first()
    if target is None:
        raise Refused(_("No such target."), 404)
    return services.get_campaign(session, target.campaign_id), target


def today(tenant: Tenant) -> dt.date:
    from saas.db import utcnow

    return local_date(utcnow(), tenant.timezone)


# --- actions ----------------------------------------------------------------------------------------------


def check_document(filename: str, data: bytes) -> tuple[str, str]:
    """The document's safe name and type, or ServiceError: empty, too large, or not an accepted kind."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:120]
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if not data:
        raise ServiceError({"document": _("The file is empty.")})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ServiceError({"document": _("A document may be at most %(mb)s MB.",
                                          mb=MAX_DOCUMENT_BYTES // (1024 * 1024))})
    if suffix not in DOCUMENT_TYPES:
        raise ServiceError({"document": _("Only PDF, Word, Excel, text or picture files are accepted.")})
    return name, DOCUMENT_TYPES[suffix]


def add_action(session: so.Session, tenant: Tenant, actor: Actor, target_id: int, data: dict[str, Any],
               documents: list[tuple[str, bytes]] = ()) -> FollowUpAction:  # type: ignore[assignment]
    """An action taken on a target after the close, with its documents (all or nothing); audited."""
    _need(actor)
    campaign, target = get_target(session, target_id)
    if campaign.state not in ACTIONS_FROM:
        raise Refused(_("Actions are recorded once the rating has closed."), 409)
    errors: dict[str, str] = {}
    if data.get("kind") not in ACTION_KINDS:
        errors["kind"] = _("Choose one of the given actions.")
    if not isinstance(data.get("taken_on"), dt.date):
        errors["taken_on"] = _("Give the date the action was taken.")
    checked = []
    for filename, body in documents:
        try:
            checked.append((*check_document(filename, body), body))
        except ServiceError as err:
            errors.update(err.errors)
            break
    if errors:
        raise ServiceError(errors)
    action = FollowUpAction(campaign_id=campaign.id, target_id=target.id, kind=data["kind"],
                            taken_on=data["taken_on"], note=(data.get("note") or "").strip())
    session.add(action)
    session.flush()
    for name, content_type, body in checked:
        session.add(FollowUpDocument(action_id=action.id, filename=name, content_type=content_type, size=len(body),
                                     data=body))
    session.flush()
    audit.record(session, actor, "cadre_evaluation.add_action", "cadre_target", target.id,
                 after={"kind": action.kind, "taken_on": action.taken_on.isoformat(), "note": action.note,
                        "documents": [n for n, _t, _b in checked]}, module=MODULE)
    return action


def add_documents(session: so.Session, tenant: Tenant, actor: Actor, action_id: int,
                  documents: list[tuple[str, bytes]]) -> list[FollowUpDocument]:
    """Documents added to an action already recorded (all or nothing, at most five at a time); audited."""
    _need(actor)
    action = session.scalars(sa.select(FollowUpAction).where(FollowUpAction.id == action_id)).first()
    if action is None:
        raise Refused(_("No such action."), 404)
    if not documents:
        raise ServiceError({"document": _("Choose at least one document.")})
    if len(documents) > 5:
        raise ServiceError({"document": _("Send at most five documents at a time.")})
    checked = []
    for filename, body in documents:
        checked.append((*check_document(filename, body), body))
    added = [FollowUpDocument(action_id=action.id, filename=name, content_type=content_type, size=len(body),
                              data=body) for name, content_type, body in checked]
    session.add_all(added)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.add_documents", "cadre_target", action.target_id,
                 after={"action_id": action.id, "documents": [n for n, _t, _b in checked]}, module=MODULE)
    return added


def get_document(session: so.Session, document_id: int) -> FollowUpDocument:
    doc = session.scalars(sa.select(FollowUpDocument).options(so.undefer(FollowUpDocument.data))
                          .where(FollowUpDocument.id == document_id)).first()
    if doc is None:
        raise Refused(_("No such document."), 404)
    return doc


def document_response(doc: FollowUpDocument) -> Any:
    """A document as the page and the API give it: an attachment, never shown inline nor kept in a cache."""
    from urllib.parse import quote

    from flask import make_response

    response = make_response(doc.data)
    response.headers["Content-Type"] = doc.content_type
    response.headers["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(doc.filename, safe="")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- rectification items ----------------------------------------------------------------------------------


def _check_item(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.get("source") not in ITEM_SOURCES:
        errors["source"] = _("Choose where the item comes from.")
    text = (data.get("text") or "").strip()
    if not text:
        errors["text"] = _("Say what must be put right.")
    elif len(text) > 2000:
        errors["text"] = _("At most %(n)s characters.", n=2000)
    if len((data.get("owner") or "").strip()) > 60:
        errors["owner"] = _("At most %(n)s characters.", n=60)
    return errors


def add_item(session: so.Session, tenant: Tenant, actor: Actor, target_id: int,
             data: dict[str, Any]) -> RectificationItem:
    """A rectification item on a target (from the opening on); audited."""
    _need(actor)
    return _add_item(session, tenant, actor, target_id, data)


def _add_item(session: so.Session, tenant: Tenant, actor: Actor, target_id: int,
              data: dict[str, Any]) -> RectificationItem:
    campaign, target = get_target(session, target_id)
    if campaign.state in services.PREPARING:
        raise Refused(_("Rectification items are drawn once the rating has opened."), 409)
    errors = _check_item(data)
    owner_user_id = data.get("owner_user_id")
    if owner_user_id is not None and session.scalar(
            sa.select(User.id).where(User.id == owner_user_id)) is None:
        errors["owner_user_id"] = _("No such person in this district.")
    if errors:
        raise ServiceError(errors)
    item = RectificationItem(campaign_id=campaign.id, target_id=target.id, source=data["source"],
                             text=data["text"].strip(), owner=(data.get("owner") or target.department).strip(),
                             owner_user_id=owner_user_id, deadline=data.get("deadline"), state="open")
    session.add(item)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.add_item", "cadre_item", item.id,
                 after={"target_id": target.id, "source": item.source, "owner": item.owner,
                        "deadline": item.deadline.isoformat() if item.deadline else None}, module=MODULE)
    return item


def item_from_text(session: so.Session, tenant: Tenant, actor: Actor, target_id: int, text: str,
                   source: str = "opinion") -> RectificationItem:
    """A rectification item from a text (a rater's opinion, a line of one of the four lists): owned by the
    target's department until the organiser names another owner, no deadline yet. The caller checks that the
    actor may turn the text into an item (the organiser, or the opinions' own rule); audited as theirs."""
    return _add_item(session, tenant, actor, target_id, {"source": source, "text": text})


def get_item(session: so.Session, item_id: int) -> RectificationItem:
    item = session.scalars(sa.select(RectificationItem).where(RectificationItem.id == item_id)).first()
    if item is None:
        raise Refused(_("No such rectification item."), 404)
    return item


def update_item(session: so.Session, tenant: Tenant, actor: Actor, item_id: int,
                data: dict[str, Any]) -> RectificationItem:
    """Change an item's owner, deadline or text, or mark it done (open → done only); audited."""
    _need(actor)
    item = get_item(session, item_id)
    before = {"state": item.state, "owner": item.owner, "deadline": item.deadline.isoformat() if item.deadline
              else None, "text": item.text}
    state = data.get("state")
    if state is not None and state not in ("open", "done"):
        raise ServiceError({"state": _("Choose one of the given states.")})
    if state == "open" and item.state == "done":
        raise Refused(_("A done item stays done; add a new item instead."), 409)
    merged = {"source": item.source, "text": data.get("text") or item.text,
              "owner": data["owner"] if data.get("owner") is not None else item.owner}
    errors = _check_item(merged)
    if errors:
        raise ServiceError(errors)
    item.text, item.owner = merged["text"].strip(), merged["owner"].strip()
    if "deadline" in data:
        item.deadline = data["deadline"]
        item.reminded_on = None  # a new deadline is reminded again when it passes
    if state == "done" and item.state == "open":
        item.state, item.done_on = "done", today(tenant)
    session.flush()
    audit.record(session, actor, "cadre_evaluation.update_item", "cadre_item", item.id, before=before,
                 after={"state": item.state, "owner": item.owner,
                        "deadline": item.deadline.isoformat() if item.deadline else None, "text": item.text},
                 module=MODULE)
    return item


# --- reminders --------------------------------------------------------------------------------------------


def organisers(session: so.Session, book: Any, enabled: set[str]) -> list[int]:
    """The active staff who hold the module's manage permission."""
    roles = [role for role in book.roles if services.MANAGE in book.permissions(role, enabled)]
    if not roles:
        return []
    return sorted(set(session.scalars(sa.select(RoleGrant.user_id).join(User, User.id == RoleGrant.user_id)
                                      .where(RoleGrant.role.in_(roles), User.active.is_(True)))))


def overdue(session: so.Session, day: dt.date) -> list[RectificationItem]:
    return list(session.scalars(sa.select(RectificationItem).where(
        RectificationItem.state == "open", RectificationItem.deadline.is_not(None),
        RectificationItem.deadline < day).order_by(RectificationItem.deadline, RectificationItem.id)))


def remind_overdue(session: so.Session, tenant_id: int, day: dt.date | None = None) -> int:
    """Remind each open item past its deadline once (per deadline): its owner when a staff member, else the
    organisers. Returns the number of items reminded."""
    from flask import current_app

    from saas.modules import enabled_keys

    tenant = session.scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).one()
    day = day or today(tenant)
    items = [i for i in overdue(session, day) if i.reminded_on is None]
    if not items:
        return 0
    book = current_app.extensions["saas.roles"]
    managers = organisers(session, book, set(enabled_keys(session)))
    targets = {t.id: t for t in session.scalars(sa.select(Target).where(
        Target.id.in_({i.target_id for i in items})))}
    for item in items:
        people = (item.owner_user_id,) if item.owner_user_id else tuple(managers)
        target = targets[item.target_id]
        notify(session, Recipients(user_ids=people), "cadre_evaluation.item_overdue",
               {"name": target.name, "section": target.section, "owner": item.owner, "text": item.text[:60],
                "deadline": item.deadline.isoformat() if item.deadline else ""},
               module=MODULE, tenant=tenant, event_key=f"cadre_item:{item.id}:{item.deadline}:overdue")
        item.reminded_on = day
    session.flush()
    return len(items)


# --- the report -------------------------------------------------------------------------------------------


def report(session: so.Session, campaign: Campaign, day: dt.date) -> list[dict[str, Any]]:
    """Per target (in the campaign's order): its actions (with documents) and items, and the items' counts."""
    targets = services.list_targets(session, campaign)
    actions: dict[int, list[FollowUpAction]] = defaultdict(list)
    for action in session.scalars(sa.select(FollowUpAction).where(FollowUpAction.campaign_id == campaign.id)
                                  .order_by(FollowUpAction.taken_on, FollowUpAction.id)):
        actions[action.target_id].append(action)
    documents: dict[int, list[FollowUpDocument]] = defaultdict(list)
    action_ids = [a.id for rows in actions.values() for a in rows]
    if action_ids:
        for doc in session.scalars(sa.select(FollowUpDocument).where(FollowUpDocument.action_id.in_(action_ids))
                                   .order_by(FollowUpDocument.id)):
            documents[doc.action_id].append(doc)
    items: dict[int, list[RectificationItem]] = defaultdict(list)
    for item in session.scalars(sa.select(RectificationItem).where(RectificationItem.campaign_id == campaign.id)
                                .order_by(RectificationItem.id)):
        items[item.target_id].append(item)
    rows = []
    for t in targets:
        mine = items[t.id]
        rows.append({"target": t, "actions": [(a, documents[a.id]) for a in actions[t.id]], "items": mine,
                     "open": sum(i.state == "open" for i in mine), "done": sum(i.state == "done" for i in mine),
                     "overdue": sum(i.state == "open" and i.deadline is not None and i.deadline < day
                                    for i in mine)})
    return rows


def export_xlsx(campaign: Campaign, rows: list[dict[str, Any]], tz: str) -> bytes:
    """The follow-up report as a workbook: a sheet of targets with counts, one of actions, one of items."""
    book = ExportBook(tz)
    summary = book.sheet(_("Follow-up"), [_("Full name"), _("Department"), _("Section"), _("Actions"), _("Open items"),
                                          _("Done items"), _("Overdue items")], [12, 18, 18, 30, 10, 10, 10])
    for r in rows:
        t = r["target"]
        summary.append([t.name, t.department, t.section,
                        "、".join(str(ACTION_LABELS[a.kind]) for a, _docs in r["actions"]),
                        r["open"], r["done"], r["overdue"]])
    acts = book.sheet(_("Actions"), [Column("name", _("Full name"), 12), Column("kind", _("Action"), 18),
                                     Column("taken_on", _("Date"), 12, number_format="yyyy-mm-dd"),
                                     Column("note", _("Note"), 40), Column("documents", _("Documents"), 30)])
    for r in rows:
        for a, docs in r["actions"]:
            acts.append({"name": r["target"].name, "kind": str(ACTION_LABELS[a.kind]), "taken_on": a.taken_on,
                         "note": a.note, "documents": "、".join(d.filename for d in docs)})
    its = book.sheet(_("Rectification items"), [
        Column("name", _("Full name"), 12), Column("source", _("Source"), 22), Column("text", _("Item"), 40),
        Column("owner", _("Owner"), 16), Column("deadline", _("Deadline"), 12, number_format="yyyy-mm-dd"),
        Column("state", _("State"), 8), Column("done_on", _("Done on"), 12, number_format="yyyy-mm-dd")])
    for r in rows:
        for i in r["items"]:
            its.append({"name": r["target"].name, "source": str(SOURCE_LABELS[i.source]), "text": i.text,
                        "owner": i.owner, "deadline": i.deadline, "state": str(ITEM_STATE_LABELS[i.state]),
                        "done_on": i.done_on})
    return book.save()


__all__ = ["ACTION_LABELS", "SOURCE_LABELS", "item_from_text"]
