"""The district's case categories: the taxonomy with default departments and deadlines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.grid_cases import services
from blueprints.grid_cases.models import CaseCategory
from blueprints.grid_cases.schemas import CategoryIn, CategoryPatch
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.views.cases import refuse
from saas import db
from saas.auth import require
from saas.context import can
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit


def _page(errors: dict[str, list[str]], form: dict[str, Any], *, edit_id: str | None = None,
          edit_errors: dict[str, list[str]] | None = None, status: int = 200) -> Any:
    session = db.session()
    rows = services.categories_out(session, services.list_categories(session))
    departments = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "department").order_by(OrgUnit.code)))
    return render("grid_cases/categories.html", rows=rows, errors=errors, form=form, departments=departments,
                  edit_id=edit_id, edit_errors=edit_errors or {}, status=status)


@bp.route("/categories", methods=["GET", "POST"])
@require("grid_cases.view")
def categories() -> Any:
    errors: dict[str, list[str]] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        if not can("grid_cases.configure"):
            abort(403)
        form = dict(request.form)
        raw = dict(request.form)
        raw["public"] = "1" if "public" in request.form else "0"
        data, errors = load_form(CategoryIn(), raw)
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
    return _page(errors, form, status=422 if errors else 200)


@bp.post("/categories/<int:category_id>")
@require("grid_cases.configure")
def category_edit(category_id: int) -> Any:
    raw = {k: v for k, v in request.form.items() if k != "csrf_token"}
    raw["public"] = "1" if "public" in request.form else "0"
    raw["active"] = "1" if "active" in request.form else "0"
    data, errors = load_form(CategoryPatch(), raw)
    if data is not None:
        try:
            services.update_category(db.session(), g.user, category_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            errors = {k: [v] for k, v in err.errors.items()}
        except services.Refused as err:
            return refuse(err)
        else:
            db.session.commit()
            flash(_("Category saved."), "success")
            return redirect(url_for("grid_cases.categories"))
    return _page({}, {}, edit_id=str(category_id), edit_errors=errors, status=422)


@bp.get("/widgets/categories")
@require("grid_cases.view")
def widget_categories() -> Any:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(CaseCategory).where(CaseCategory.active))
    return render("grid_cases/_widget_categories.html", count=count or 0)
