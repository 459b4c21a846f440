"""Contact cards (便民服务连心卡): the grids of one's area with their cards, a card's editor with its preview,
the print view (A6, or four cards to an A4 sheet for a whole community), the PDFs and the QR code.

The QR code opens the grid's public report form at the address the request came in on: Flask builds it from
the Host header and the scheme the WSGI server reports (behind a proxy, gunicorn takes the scheme from
X-Forwarded-Proto for the addresses in --forwarded-allow-ips, and the proxy must pass the Host on). A district
with a host name of its own (`tenants.hostname`) gets that host on its cards whatever address the card was
printed from. A card printed from an address residents cannot reach (localhost, an intranet IP, a name without
a dot) says so on the screen before anyone prints it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from blueprints.grid_cases.schemas import CardFilter, CardIn
from blueprints.grid_cases.services import cards as card_services
from blueprints.grid_cases.services.base import Refused
from blueprints.grid_cases.services.cards import PERMISSION, Card, report_url
from blueprints.grid_cases.views import bp
from blueprints.grid_cases.views.cases import refuse
from blueprints.grid_cases.web import actor
from saas import db
from saas.auth import require
from saas.pdf import pdf_response
from saas.qr import qr_png, qr_svg_data_uri, unreachable_host
from saas.rendering import render
from saas.schemas import load_form
from tenants.models import OrgUnit

# --- the QR code's address -----------------------------------------------------------------------------


def _items(cards: list[Card]) -> list[dict[str, Any]]:
    out = []
    for card in cards:
        url = report_url(card.grid)
        out.append({"card": card, "url": url, "qr": qr_svg_data_uri(url)})
    return out


# --- the list -------------------------------------------------------------------------------------------


def _groups(cards: list[Card]) -> list[dict[str, Any]]:
    """Consecutive cards of one community (the list is in the tree's order)."""
    groups: list[dict[str, Any]] = []
    for card in cards:
        key = card.community.id if card.community is not None else None
        if not groups or groups[-1]["key"] != key:
            groups.append({"key": key, "community": card.community, "street": card.street, "cards": []})
        groups[-1]["cards"].append(card)
    return groups


def _by_street(communities: list[tuple[OrgUnit, OrgUnit | None]]) -> list[tuple[OrgUnit | None, list[OrgUnit]]]:
    """The filter's choices: consecutive communities of one street (the tree's order)."""
    out: list[tuple[OrgUnit | None, list[OrgUnit]]] = []
    for community, street in communities:
        if not out or out[-1][0] is not street:
            out.append((street, []))
        out[-1][1].append(community)
    return out


@bp.get("/cards")
@require(PERMISSION)
def cards() -> Any:
    """The grids of one's area with their cards, by community; filtered, and in keyset pages."""
    session = db.session()
    me = actor()
    filters, errors = load_form(CardFilter(), request.args)
    rows: list[Card] = []
    cursor = None
    if filters is not None:
        rows, cursor, errors = card_services.grid_page(session, me, filters, limit=card_services.PAGE_SIZE)
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render("grid_cases/cards.html", block="results" if request.args.get("after") else None,
                  groups=_groups(rows), communities=_by_street(card_services.communities_in_area(session, me)),
                  filters=dict(request.args), errors=errors, next_args={**args, "after": cursor} if cursor else None,
                  status=422 if errors else 200)


# --- one card -------------------------------------------------------------------------------------------


def _edit_page(card: Card, form: dict[str, Any], errors: dict[str, list[str]], preview: Card | None = None,
               status: int = 200, block: str | None = None) -> Any:
    shown = preview or card
    item = _items([shown])[0]
    return render("grid_cases/card_edit.html", block=block, card=card, item=item, form=form, errors=errors,
                  editable=card_services.EDITABLE, unreachable=unreachable_host(item["url"]), status=status)


@bp.route("/cards/<int:grid_id>", methods=["GET", "POST"])
@require(PERMISSION)
def card_edit(grid_id: int) -> Any:
    """A grid's card: the community's contacts to fill in, and the card as it prints."""
    session = db.session()
    me = actor()
    try:
        card = card_services.get_card(session, me, grid_id)
    except Refused as err:
        return refuse(err)
    if request.method == "GET":
        return _edit_page(card, card.fields(), {})
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(CardIn(), request.form)
    status = 422
    if data is not None:
        try:
            card_services.save_card(session, me, grid_id, data)
        except Refused as err:
            db.session.rollback()
            if err.status == 404:
                return refuse(err)
            errors, status = {"_form": [err.message]}, err.status
        else:
            db.session.commit()
            flash(_("Card saved."), "success")
            return redirect(url_for("grid_cases.card_edit", grid_id=grid_id))
    # the card as it is saved: nothing of the refused values reached it
    return _edit_page(card, form, errors, status=status)


@bp.post("/cards/<int:grid_id>/preview")
@require(PERMISSION)
def card_preview(grid_id: int) -> Any:
    """The card with the values typed so far, nothing saved (htmx swaps in the preview alone)."""
    try:
        card = card_services.get_card(db.session(), actor(), grid_id)
    except Refused as err:
        return refuse(err)
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data, errors = load_form(CardIn(), request.form)
    preview = card_services.preview_card(card, data) if data is not None else None
    return _edit_page(card, form, errors, preview=preview, status=422 if errors else 200, block="preview")


def _print_page(items: list[dict[str, Any]], *, title: str, sheet: str, back: str, pdf_url: str,
                pdf: bool = False, cut_off: bool = False) -> str:
    return render_template("grid_cases/card_print.html", items=items, title=title, sheet=sheet, back=back,
                           pdf_url=pdf_url, pdf=pdf, cut_off=cut_off, max_sheet=card_services.MAX_SHEET,
                           unreachable=unreachable_host(items[0]["url"]) if items else None)


def _pdf(html: str, name: str, fallback: str) -> Any:
    return pdf_response(html, _("Contact card %(name)s", name=name), fallback)


def _one(grid_id: int) -> tuple[Card, list[dict[str, Any]]]:
    card = card_services.get_card(db.session(), actor(), grid_id)
    return card, _items([card])


@bp.get("/cards/<int:grid_id>/print")
@require(PERMISSION)
def card_print(grid_id: int) -> Any:
    """One card to print on A6 paper."""
    try:
        card, items = _one(grid_id)
    except Refused as err:
        return refuse(err)
    return _print_page(items, title=card.grid.name, sheet="a6", back=url_for("grid_cases.card_edit", grid_id=grid_id),
                       pdf_url=url_for("grid_cases.card_pdf", grid_id=grid_id))


@bp.get("/cards/<int:grid_id>/card.pdf")
@require(PERMISSION)
def card_pdf(grid_id: int) -> Any:
    """One card as an A6 PDF."""
    try:
        card, items = _one(grid_id)
    except Refused as err:
        return refuse(err)
    html = _print_page(items, title=card.grid.name, sheet="a6", back="", pdf_url="", pdf=True)
    return _pdf(html, card.grid.name, card.grid.code)


@bp.get("/cards/<int:grid_id>/qr.png")
@require(PERMISSION)
def card_qr(grid_id: int) -> Any:
    """The card's QR code alone, for posters and notices."""
    try:
        card = card_services.get_card(db.session(), actor(), grid_id)
    except Refused as err:
        return refuse(err)
    response = make_response(qr_png(report_url(card.grid)))
    response.headers["Content-Type"] = "image/png"
    response.headers["Content-Disposition"] = f"inline; filename=\"{quote(card.grid.code, safe='')}-qr.png\""
    return response


def _community(community_id: int) -> tuple[OrgUnit, list[dict[str, Any]], bool]:
    community, cards_, cut_off = card_services.community_cards(db.session(), actor(), community_id)
    return community, _items(cards_), cut_off


@bp.get("/cards/community/<int:community_id>/print")
@require(PERMISSION)
def community_print(community_id: int) -> Any:
    """A community's cards, four to an A4 sheet with cut lines."""
    try:
        community, items, cut_off = _community(community_id)
    except Refused as err:
        return refuse(err)
    return _print_page(items, title=community.name, sheet="a4", cut_off=cut_off,
                       back=url_for("grid_cases.cards", community=community.code),
                       pdf_url=url_for("grid_cases.community_pdf", community_id=community_id))


@bp.get("/cards/community/<int:community_id>/cards.pdf")
@require(PERMISSION)
def community_pdf(community_id: int) -> Any:
    """A community's cards as an A4 PDF, four to a sheet."""
    try:
        community, items, cut_off = _community(community_id)
    except Refused as err:
        return refuse(err)
    html = _print_page(items, title=community.name, sheet="a4", back="", pdf_url="", pdf=True, cut_off=cut_off)
    return _pdf(html, community.name, community.code)
