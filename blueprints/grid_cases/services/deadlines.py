"""Deadlines of each step of a case, counted on the district's working-day calendar.

An ordinary case counts in working days (the day of receipt never counts; the deadline is the end of the
n-th working day, see saas.workdays); an urgent one counts in working hours of office time. The steps:

- `accept`: a report or an escalation waits for acceptance, an accepted case for the decision to handle,
  escalate or dispatch, a dispatched case for the department to take it, a verified case for closing:
  `accept_days` working days, or `urgent_step_hours` working hours when urgent (module settings);
- `resolve`: handling, from dispatch or from the level's own decision to handle: the category's
  `deadline_days`, or its `urgent_hours` when urgent;
- `verify`: a resolved case waits for the grid worker's check on site: `verify_days` or `urgent_step_hours`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from blueprints.grid_cases.models import CaseCategory
from saas.workdays import WorkCalendar

STEPS = ("accept", "resolve", "verify")


def step_deadline(cal: WorkCalendar, settings: dict[str, Any], urgency: str, step: str, start: dt.datetime,
                  category: CaseCategory | None = None) -> dt.datetime:
    """When a step started at `start` is due."""
    urgent = urgency == "urgent"
    if step == "resolve":
        if category is None:
            raise ValueError("the resolve step needs the case's category")
        if urgent:
            return cal.add_working_hours(start, category.urgent_hours)
        return cal.add_working_days(start, category.deadline_days)
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    if urgent:
        return cal.add_working_hours(start, settings["urgent_step_hours"])
    days = settings["accept_days"] if step == "accept" else settings["verify_days"]
    return cal.add_working_days(start, days)


def extend(cal: WorkCalendar, deadline: dt.datetime, days: int) -> dt.datetime:
    """A handling deadline moved by `days` working days (an approved extension, 延期)."""
    return cal.add_working_days(deadline, days)
