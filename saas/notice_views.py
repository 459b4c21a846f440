"""Pages for notifications: the district's channels and quiet hours, failed deliveries, a person's choices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from saas import db, notice_settings
from saas.auth import login_required, require
from saas.context import registry
from saas.notify import CHANNEL_LABELS, PERSONAL_CHANNELS, templates
from saas.pagination import keyset_page
from saas.rendering import render
from saas.schemas import MAX_ID

bp = Blueprint("notices", __name__, url_prefix="/t/<tenant>")


def _channels_page(errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    rows = notice_settings.channel_rows(db.session())
    views = {c: notice_settings.channel_view(rows.get(c)) for c in notice_settings.channel_choices()}
    return render("notices/channels.html", views=views, labels=CHANNEL_LABELS, errors=errors or {},
                  counts=notice_settings.outbox_counts(db.session()), status=status)


@bp.get("/admin/channels")
@require("tenant.notices")
def channels() -> Any:
    return _channels_page()


@bp.post("/admin/channels/<channel>")
@require("tenant.notices")
def save_channel(channel: str) -> Any:
    if channel not in notice_settings.channel_choices():
        abort(404)
    raw = {k: v for k, v in request.form.items() if k not in ("csrf_token", "enabled")}
    if channel == "email":
        raw["starttls"] = "true" if "starttls" in request.form else "false"
    try:
        notice_settings.save_channel(db.session(), g.user, channel, raw, "enabled" in request.form,
                                     ip=request.remote_addr)
    except notice_settings.SettingsRefused as err:
        db.session.rollback()
        return _channels_page({channel: err.errors}, 422)
    db.session.commit()
    flash(_("Channel settings saved."), "success")
    return redirect(url_for("notices.channels"))


@bp.post("/admin/quiet-hours")
@require("tenant.notices")
def save_quiet_hours() -> Any:
    try:
        notice_settings.save_quiet_hours(db.session(), g.tenant, g.user, request.form.get("quiet_start", ""),
                                         request.form.get("quiet_end", ""))
    except notice_settings.SettingsRefused as err:
        db.session.rollback()
        return _channels_page({"quiet": err.errors}, 422)
    db.session.commit()
    flash(_("Quiet hours saved."), "success")
    return redirect(url_for("notices.channels"))


@bp.route("/admin/notice-templates", methods=["GET", "POST"])
@require("tenant.notices")
def notice_templates() -> Any:
    kinds = templates(registry())
    errors: dict[str, Any] = {}
    if request.method == "POST":
        kind, locale = request.form.get("kind", ""), request.form.get("locale", "")
        try:
            notice_settings.save_template(db.session(), g.user, kinds, kind, locale, request.form.get("title", ""),
                                          request.form.get("body", ""))
        except notice_settings.SettingsRefused as err:
            db.session.rollback()
            if {"kind", "locale"} & set(err.errors):
                abort(400)  # the hidden fields were changed: there is no form on the page to show it in
            errors = {f"{kind}:{locale}": err.errors}
        else:
            db.session.commit()
            flash(_("Wording saved."), "success")
            return redirect(url_for("notices.notice_templates"))
    return render("notices/templates.html", kinds=kinds, overrides=notice_settings.template_overrides(db.session()),
                  errors=errors, status=422 if errors else 200)


@bp.get("/admin/outbox")
@require("tenant.notices")
def outbox() -> Any:
    before = request.args.get("before", "")
    cursor = int(before) if before.isdigit() and 0 < int(before) <= MAX_ID else None
    rows, next_before = keyset_page(db.session(), notice_settings.dead_letters_query(cursor), 50)
    return render("notices/outbox.html", rows=rows, next_before=next_before, labels=CHANNEL_LABELS,
                  counts=notice_settings.outbox_counts(db.session()))


@bp.post("/admin/outbox/<int:delivery_id>/<any(retry, discard):action>")
@require("tenant.notices")
def outbox_action(delivery_id: int, action: str) -> Any:
    delivery = notice_settings.delivery_by_id(db.session(), delivery_id)
    if delivery is None:
        abort(404)
    try:
        if action == "retry":
            notice_settings.retry_delivery(db.session(), g.user, delivery)
        else:
            notice_settings.discard_delivery(db.session(), g.user, delivery)
    except notice_settings.SettingsRefused as err:
        db.session.rollback()
        flash(err.errors["_form"], "error")
        return redirect(url_for("notices.outbox"))
    db.session.commit()
    flash(_("The delivery will be tried again.") if action == "retry" else _("The delivery was discarded."), "info")
    return redirect(url_for("notices.outbox"))


@bp.route("/me/notices", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    kinds = templates(registry())
    errors: dict[str, Any] = {}
    if request.method == "POST":
        chosen = {kind: request.form.getlist(kind) for kind in kinds}
        try:
            notice_settings.save_preferences(db.session(), g.user, kinds, chosen)
        except notice_settings.SettingsRefused as err:
            db.session.rollback()
            errors = err.errors
        else:
            db.session.commit()
            flash(_("Your choices are saved."), "success")
            return redirect(url_for("notices.preferences"))
    return render("notices/preferences.html", kinds=kinds, chosen=notice_settings.preferences(db.session(), g.user,
                  kinds), channels=PERSONAL_CHANNELS, labels=CHANNEL_LABELS, errors=errors,
                  status=422 if errors else 200)
