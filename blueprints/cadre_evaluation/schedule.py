"""A campaign's schedule: target list published (announce_at) → open (opens_at) → closed (closes_at) → results
published (results_at) → follow-up (followup_at).

Each time is optional: a step without a time is taken by the organiser's button. The periodic job `advance`
takes, for every campaign, each step whose time has come, in order (a job that missed a run catches up every
step due, never skips one), as the system, audited like the organiser's. A step refused by the rules (opening a
campaign without targets) is left for the organiser and the campaign stays where it is. A step is due at its
time exactly (`now >= time`), the same edge `check_open` uses for ballots.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Campaign
from saas.actors import Actor
from saas.db import utcnow

log = logging.getLogger("cadre_evaluation.schedule")

# state → (the step taken from it, the time that makes it due), first due first: a draft whose list was to be
# published is announced before it opens
STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "draft": (("announce", "announce_at"), ("open", "opens_at")),
    "announced": (("open", "opens_at"),),
    "open": (("close", "closes_at"),),
    "closed": (("publish", "results_at"),),
    "published": (("followup", "followup_at"),),
}
ORDER = ("announce_at", "opens_at", "closes_at", "results_at", "followup_at")


def check_schedule(data: dict[str, Any]) -> dict[str, str]:
    """The schedule's times, where given, in the order of the steps; a message per time out of order."""
    errors: dict[str, str] = {}
    given = [(k, data[k]) for k in ORDER if data.get(k)]
    for (_key, before), (key, after) in itertools.pairwise(given):
        if after < before:
            errors[key] = _("The schedule's steps must follow each other: target list, opening, closing, "
                            "results, follow-up.")
    return errors


def due_step(campaign: Campaign, now: dt.datetime) -> str | None:
    """The step whose time has come for the campaign as it is, or None."""
    for action, attr in STEPS.get(campaign.state, ()):
        when = getattr(campaign, attr)
        if when is not None and now >= when:
            return action
    return None


def advance(session: so.Session, actor: Actor, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """Take every step that is due, for every campaign of the district: [(campaign id, step)] in order."""
    now = now or utcnow()
    taken: list[tuple[int, str]] = []
    campaigns = session.scalars(sa.select(Campaign).where(Campaign.state != "followup").order_by(Campaign.id)
                                .with_for_update(skip_locked=True))
    for campaign in campaigns:
        for _guard in range(len(STEPS)):
            action = due_step(campaign, now)
            if action is None:
                break
            try:
                with session.begin_nested():
                    services.apply_step(session, actor, campaign, action)
            except services.Refused as err:
                log.info("campaign %s: step %s left for the organiser (%s)", campaign.id, action, err.message)
                break
            taken.append((campaign.id, action))
    return taken
