"""Grid cases' pages under /t/<tenant>/grid_cases/."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.grid_cases import services
from blueprints.grid_cases.models import CaseCategory
from blueprints.grid_cases.schemas import CategoryIn
from saas import db
from saas.auth import require
from saas.context import can
from saas.rendering import render
from saas.schemas import load_form

bp = Blueprint("grid_cases", __name__, template_folder="templates")


@bp.route("/categories", methods=["GET", "POST"])
@require("grid_cases.view")
def categories() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        if not can("grid_cases.configure"):
            abort(403)
        form = dict(request.form)
        data, errors = load_form(CategoryIn(), request.form)
        if data is not None:
            try:
                services.add_category(db.session(), g.user, data)
            except services.ServiceError as err:
                db.session.rollback()
                errors = {k: [v] for k, v in err.errors.items()}
            else:
                db.session.commit()
                flash(_("Category added."), "success")
                return redirect(url_for("grid_cases.categories"))
    rows = services.categories_out(db.session(), services.list_categories(db.session()))
    return render("grid_cases/categories.html", rows=rows, errors=errors, form=form, status=422 if errors else 200)


@bp.get("/widgets/categories")
@require("grid_cases.view")
def widget_categories() -> Any:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(CaseCategory).where(CaseCategory.active))
    return render("grid_cases/_widget_categories.html", count=count or 0)
