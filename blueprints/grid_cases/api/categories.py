"""The district's case categories."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from blueprints.grid_cases import services
from blueprints.grid_cases.api import blp
from blueprints.grid_cases.schemas import CategoryIn, CategoryOut, CategoryPatch
from saas import db
from saas.auth import require


@blp.route("/categories")
class CaseCategories(MethodView):
    @blp.response(200, CategoryOut(many=True))
    @require("grid_cases.view")
    def get(self) -> list[dict[str, Any]]:
        """The district's case categories with default department and deadlines"""
        return services.categories_out(db.session(), services.list_categories(db.session()))

    @blp.arguments(CategoryIn)
    @blp.response(201, CategoryOut)
    @require("grid_cases.configure")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a category"""
        try:
            category = services.add_category(db.session(), g.user, data)
        except services.ServiceError as err:
            db.session.rollback()
            abort(422, errors=err.errors)
        db.session.commit()
        return services.category_out(db.session(), category)


@blp.route("/categories/<int:category_id>")
class CaseCategoryById(MethodView):
    @blp.arguments(CategoryPatch)
    @blp.response(200, CategoryOut)
    @require("grid_cases.configure")
    def patch(self, data: dict[str, Any], category_id: int) -> dict[str, Any]:
        """Change a category's name, default department, deadlines, public listing or whether it is offered"""
        try:
            category = services.update_category(db.session(), g.user, category_id, data)
        except services.ServiceError as err:
            db.session.rollback()
            if "_form" in err.errors:
                abort(404)
            abort(422, errors=err.errors)
        db.session.commit()
        return services.category_out(db.session(), category)
