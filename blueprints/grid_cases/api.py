"""Grid cases' JSON API under /api/v1/t/<tenant>/grid_cases/."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from blueprints.grid_cases import services
from blueprints.grid_cases.schemas import CategoryIn, CategoryOut
from saas import db
from saas.api import Blueprint
from saas.auth import require

blp = Blueprint("grid_cases_api", __name__, description="网格事件 / Grid cases")


@blp.route("/categories")
class CaseCategories(MethodView):
    @blp.response(200, CategoryOut(many=True))
    @require("grid_cases.view")
    def get(self) -> list[dict[str, Any]]:
        """The district's case categories with default department and deadline"""
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
