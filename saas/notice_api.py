"""Notification API: a person's inbox; the district's channels and failed deliveries."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import g, request
from flask.views import MethodView
from flask_smorest import abort

from saas import db, notice_settings
from saas.api import Blueprint, ErrorSchema
from saas.auth import login_required, require
from saas.db import utcnow
from saas.notify import Notification, unread_count
from saas.pagination import keyset_page
from saas.schemas import Id, Schema

inbox_api = Blueprint("inbox_api", __name__, url_prefix="/api/v1/t/<tenant>/me",
                      description="The signed-in person's in-app inbox")
notices_api = Blueprint("notices_api", __name__, url_prefix="/api/v1/t/<tenant>/admin",
                        description="Notification channels and failed deliveries")


class NoticeOut(Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    urgent = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)


class InboxPage(Schema):
    unread = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(NoticeOut))
    next_before = ma.fields.String(allow_none=True)


class CursorArgs(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    before = Id(metadata={"description": "Keyset cursor: the last id of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


@inbox_api.route("/inbox")
class Inbox(MethodView):
    @inbox_api.arguments(CursorArgs, location="query")
    @inbox_api.response(200, InboxPage)
    @login_required
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My notices, newest first, and how many are unread"""
        q = sa.select(Notification).where(Notification.user_id == g.user.id).order_by(Notification.id.desc())
        if args.get("before"):
            q = q.where(Notification.id < args["before"])
        rows, cursor = keyset_page(db.session(), q, args["limit"])
        return {"unread": unread_count(db.session(), g.user.id), "items": rows, "next_before": cursor}


@inbox_api.route("/inbox/<int:notice_id>/read")
class InboxRead(MethodView):
    @inbox_api.response(200, NoticeOut)
    @login_required
    def post(self, notice_id: int) -> Notification:
        """Mark one of my notices as read"""
        row = db.session.scalars(sa.select(Notification).where(
            Notification.id == notice_id, Notification.user_id == g.user.id)).first()
        if row is None:
            abort(404)
        if row.read_at is None:
            row.read_at = utcnow()
            db.session.commit()
        return row


class ChannelOut(Schema):
    channel = ma.fields.String()
    enabled = ma.fields.Boolean()
    settings = ma.fields.Dict()
    secret = ma.fields.String(metadata={"description": "Only a mask of the stored secret, e.g. ••••1234"})


class ChannelIn(Schema):
    enabled = ma.fields.Boolean(load_default=True)
    settings = ma.fields.Dict(keys=ma.fields.String(), required=True,
                              metadata={"description": "The channel's fields; `secret` is stored encrypted, "
                                                       "an empty one keeps the stored secret"})


def _channel_out(channel: str) -> dict[str, Any]:
    view = notice_settings.channel_view(notice_settings.channel_rows(db.session()).get(channel))
    return {"channel": channel, **view}


@notices_api.route("/channels")
class Channels(MethodView):
    @notices_api.response(200, ChannelOut(many=True))
    @require("tenant.notices")
    def get(self) -> list[dict[str, Any]]:
        """The district's outside channels (SMS, DingTalk, WeCom, email), secrets masked"""
        return [_channel_out(c) for c in notice_settings.channel_choices()]


@notices_api.route("/channels/<channel>")
class ChannelByName(MethodView):
    @notices_api.arguments(ChannelIn)
    @notices_api.response(200, ChannelOut)
    @require("tenant.notices")
    def put(self, body: dict[str, Any], channel: str) -> dict[str, Any]:
        """Set up a channel; malformed settings are refused and nothing changes"""
        if channel not in notice_settings.channel_choices():
            abort(404)
        raw = {k: v if isinstance(v, (str, bool, int)) else str(v) for k, v in body["settings"].items()}
        try:
            notice_settings.save_channel(db.session(), g.user, channel, raw, body["enabled"], ip=request.remote_addr)
        except notice_settings.SettingsRefused as err:
            db.session.rollback()
            abort(422, errors=err.errors)
        db.session.commit()
        return _channel_out(channel)


class DeliveryOut(Schema):
    id = ma.fields.String()
    channel = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.String()
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class DeliveryPage(Schema):
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    items = ma.fields.List(ma.fields.Nested(DeliveryOut))
    next_before = ma.fields.String(allow_none=True)


@notices_api.route("/outbox")
class Outbox(MethodView):
    @notices_api.arguments(CursorArgs, location="query")
    @notices_api.response(200, DeliveryPage)
    @require("tenant.notices")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Deliveries by status, and the dead letters (failed after every retry), newest first"""
        query = notice_settings.dead_letters_query(args.get("before"))
        rows, cursor = keyset_page(db.session(), query, args["limit"])
        return {"counts": notice_settings.outbox_counts(db.session()), "items": rows, "next_before": cursor}


@notices_api.route("/outbox/<int:delivery_id>/<any(retry, discard):action>")
class OutboxAction(MethodView):
    @notices_api.response(200, DeliveryOut)
    @notices_api.alt_response(409, schema=ErrorSchema, description="Only a dead letter can be retried or discarded")
    @require("tenant.notices")
    def post(self, delivery_id: int, action: str) -> Any:
        """Retry a dead letter, or discard it"""
        row = notice_settings.delivery_by_id(db.session(), delivery_id)
        if row is None:
            abort(404)
        try:
            if action == "retry":
                notice_settings.retry_delivery(db.session(), g.user, row)
            else:
                notice_settings.discard_delivery(db.session(), g.user, row)
        except notice_settings.SettingsRefused as err:
            db.session.rollback()
            abort(409, message=err.errors["_form"])
        db.session.commit()
        return row


def blueprints() -> list[Blueprint]:
    return [inbox_api, notices_api]
