"""The district's case categories."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from blueprints.grid_cases import services
from blueprints.grid_cases.api import blp
from blueprints.grid_cases.schemas import CategoryIn, CategoryOut, CategoryPatch
from blueprints.grid_cases.web import answering
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
        with answering():
            category = services.add_category(db.session(), g.user, data)
        return services.category_out(db.session(), category)


@blp.route("/categories/<int:category_id>")
class CaseCategoryById(MethodView):
    @blp.arguments(CategoryPatch)
    @blp.response(200, CategoryOut)
    @require("grid_cases.configure")
    def patch(self, data: dict[str, Any], category_id: int) -> dict[str, Any]:
        """Change a category's name, default department, deadlines, public listing or whether it is offered"""
        with answering():
            category = services.update_category(db.session(), g.user, category_id, data)
        return services.category_out(db.session(), category)
