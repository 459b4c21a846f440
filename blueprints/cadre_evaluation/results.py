"""Cadre evaluation's results, shared by the pages, the JSON API and the exports.

While a campaign is open only participation counts per channel are shown (评中公示), never a score. From the
close the organiser sees, and from the publication everyone sees, per target: each dimension's average per
channel, the channel scores, the weighted total, the number of ballots, the share of 不了解, the rank overall and
the rank within the target's business area; a target with fewer ballots than the minimum is listed as such, not
scored and not ranked.

A target rated in one channel only (or in two) is scored over the channels that have ballots for it, their
weights renormalised to 100 (services.tally): a target nobody rated on site is neither dragged down by an empty
channel nor lifted by one; a channel with weight 0 never counts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import CHANNELS, Campaign
from saas import charts
from saas.actors import Actor
from saas.exports import Column, ExportBook


def live_counts(session: so.Session, campaign: Campaign) -> dict[str, int] | None:
    """Participation per channel while the campaign is open (and after): counts only, never scores."""
    if campaign.state in services.PREPARING:
        return None
    return services.participation(session, campaign)


def ranked(session: so.Session, campaign: Campaign) -> list[dict[str, Any]]:
    """`services.tally`'s rows, each with `area_rank`: the rank among the scored targets of its area."""
    return _with_area_ranks(services.tally(session, campaign))


def _with_area_ranks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_area: dict[str, int] = defaultdict(int)
    for row in rows:  # tally lists the scored ones first, best first
        if row["scored"]:
            by_area[row["target"].area] += 1
            row["area_rank"] = by_area[row["target"].area]
        else:
            row["area_rank"] = None
    return rows


def results_for(session: so.Session, actor: Actor | None, campaign: Campaign) -> list[dict[str, Any]]:
    """The results the asker may see (services.results_for decides), with the ranks per area."""
    return _with_area_ranks(services.results_for(session, actor, campaign))  # refused before it may be seen


def shown_to(session: so.Session, actor: Actor | None, campaign: Campaign) -> list[dict[str, Any]] | None:
    """What a page shows of the results: `results_for`'s rows, or None where it refuses (the page says when)."""
    try:
        return results_for(session, actor, campaign)
    except services.Refused:
        return None


def by_area(campaign: Campaign, rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows grouped by business area, in the campaign's order of areas (others after, then no area)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["target"].area].append(row)
    order = [a for a in campaign.areas if a in groups] + sorted(a for a in groups if a not in campaign.areas and a)
    if "" in groups:
        order.append("")
    return [(area, groups[area]) for area in order]


def chart(rows: list[dict[str, Any]]) -> charts.Chart:
    """The scored targets' totals as bars, best first (the chart's table lists them all)."""
    bars = [(f"{r['target'].name}（{r['target'].section}）", round(r["total"], 2)) for r in rows if r["scored"]]
    return charts.bar_chart("cadre-totals", _("Weighted totals"), bars, limit=40, value_label=_("Weighted total"))


def chart_of(rows: list[dict[str, Any]] | None) -> charts.Chart | None:
    """The chart when a target is scored; None when there is nothing to draw."""
    return chart(rows) if rows and any(r["scored"] for r in rows) else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def export_xlsx(campaign: Campaign, rows: list[dict[str, Any]], tz: str) -> bytes:
    """The results as a workbook (the kernel's export writer): one row per target, then one per target and
    channel with each dimension's average."""
    book = ExportBook(tz)
    dims = campaign.dimensions
    sheet = book.sheet(_("Results"), [
        Column("rank", _("Rank"), 8), Column("area_rank", _("Rank in area"), 10), Column("name", _("Full name"), 12),
        Column("department", _("Department"), 18), Column("section", _("Section"), 18),
        Column("area", _("Business area"), 16), Column("ballots", _("Ballots"), 10),
        *[Column(f"c_{c}", services.CHANNEL_LABELS[c], 14) for c in CHANNELS],
        Column("total", _("Weighted total"), 12), Column("unknown", _("Share of 不了解"), 12, number_format="0.0%"),
        Column("note", _("Note"), 24)])
    for r in rows:
        t = r["target"]
        sheet.append({"rank": r["rank"], "area_rank": r["area_rank"], "name": t.name, "department": t.department,
                      "section": t.section, "area": t.area, "ballots": r["ballots"],
                      **{f"c_{c}": _round(r["channels"][c]["score"]) if c in r["channels"] else None
                         for c in CHANNELS},
                      "total": _round(r["total"]), "unknown": r["unknown_share"],
                      "note": "" if r["scored"] else _("Fewer ballots than the minimum (%(n)s): not scored",
                                                       n=campaign.min_ballots)})
    detail = book.sheet(_("By channel"), [_("Full name"), _("Section"), _("Channel"), _("Ballots"),
                                          *[d["name"] for d in dims], _("Channel score")])
    for r in rows:
        for c in CHANNELS:
            if c not in r["channels"]:
                continue
            ch = r["channels"][c]
            detail.append([r["target"].name, r["target"].section, str(services.CHANNEL_LABELS[c]), ch["ballots"],
                           *[_round(ch["dimensions"][d["key"]]) for d in dims], _round(ch["score"])])
    return book.save()
