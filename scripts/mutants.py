"""Planted faults (`make mutants`): each one is written into the code, the tests of its area run, the code restored.

A fault that no test notices "survives". The faults are those a careless change would make in the riskiest code
(the state machine, who sees a case, the tenant filter, sign-in by phone code, the outbox and notices, deadlines),
each with the tests that should catch it, so a run stays within minutes. The survival rate goes to
docs/testing.md; a survivor either gets a test or a written reason there.

    .venv/bin/python scripts/mutants.py [--budget SECONDS] [--only NAME ...] [--backends sqlite] [--write-docs]

The working tree is restored after each fault (and on Ctrl-C); a file with uncommitted changes is never planted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SM = "tests/blueprints/grid_cases/test_state_machine.py"
LISTS = "tests/blueprints/grid_cases/test_lists.py"
TENANCY = "tests/kernel/test_tenancy.py"
OUTBOX = "tests/workers/test_outbox.py"
AUTH = "tests/kernel/test_auth.py"
PUBLIC = "tests/blueprints/grid_cases/test_public.py"
DEADLINES = "tests/blueprints/grid_cases/test_deadlines.py"
SECRETS = "tests/workers/test_secret_codes.py"
OPEN311 = "tests/blueprints/grid_cases/test_open311.py"
CASES = "blueprints/grid_cases/services/cases.py"
BF_ITEMS = "blueprints/business_feedback/services/items.py"
BF_SUPERVISION = "blueprints/business_feedback/services/supervision.py"
BF_ROSTER = "blueprints/business_feedback/services/roster.py"
BF_SM = "tests/blueprints/business_feedback/test_state_machine.py"
BF_HIDDEN = "tests/blueprints/business_feedback/test_hidden_names.py"
BF_PAGES = "tests/blueprints/business_feedback/test_pages_api.py"
BF_ROSTER_TESTS = "tests/blueprints/business_feedback/test_roster.py"
BF_OVERDUE = "tests/blueprints/business_feedback/test_supervision.py"
CE = "blueprints/cadre_evaluation/services.py"
CE_CHANNELS = "blueprints/cadre_evaluation/channels.py"
CE_BALLOTS = "tests/blueprints/cadre_evaluation/test_ballots.py"
CE_SETUP = "tests/blueprints/cadre_evaluation/test_setup.py"
CE_TALLY = "tests/blueprints/cadre_evaluation/test_tally.py"
CE_CHANNEL_TESTS = "tests/blueprints/cadre_evaluation/test_channels.py"
CE_SCHEDULE = "tests/blueprints/cadre_evaluation/test_schedule.py"
CE_RESULTS = "tests/blueprints/cadre_evaluation/test_results_pages.py"
CE_SECRECY = "tests/blueprints/cadre_evaluation/test_channels_anonymity.py"
EV = "blueprints/elderly_visits/services.py"
EV_JOBS = "blueprints/elderly_visits/jobs.py"
EV_SERVICES = "tests/blueprints/elderly_visits/test_services.py"
EV_DOORS = "tests/blueprints/elderly_visits/test_doors.py"
EV_JOB_TESTS = "tests/blueprints/elderly_visits/test_emergencies_and_jobs.py"
PASSWORDS = "tests/kernel/test_passwords.py"
PROVISIONING = "tests/kernel/test_provisioning.py"
EXPORTS = "tests/kernel/test_exports.py"
IMPORT = "tests/kernel/test_import.py"
IMPORT_CONTRACT = "tests/kernel/test_import_contract.py"
RLS = "tests/kernel/test_rls.py"
EV_DASHBOARD = "tests/blueprints/elderly_visits/test_dashboard.py"
CE_CHANNELS_API = "tests/blueprints/cadre_evaluation/test_channels_api.py"
CE_FOLLOWUP = "tests/blueprints/cadre_evaluation/test_results_followup.py"
MASKING = "tests/kernel/test_masking.py"
PLATFORM = "tests/kernel/test_platform.py"
MODULES = "tests/kernel/test_modules.py"


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    backends: str = "sqlite"  # the backend the tests run on (postgres where only RLS or a lock is at stake)


MUTANTS = (
    # the state machine
    Mutant("close from resolved", CASES, '("verified",), "level", public=True)',
           '("resolved", "verified",), "level", public=True)', (SM,)),
    Mutant("verify from in_progress", CASES, 'Transition("verify", _l("Confirm on site"), ("resolved",)',
           'Transition("verify", _l("Confirm on site"), ("resolved", "in_progress")', (SM,)),
    Mutant("dispatch by the level", CASES, '("accepted",), "dispatcher")', '("accepted",), "level")', (SM,)),
    Mutant("rate by the level", CASES, '("closed",), "reporter", public=True)', '("closed",), "level", public=True)',
           (SM,)),
    Mutant("extension approved by the department", CASES,
           '("extension_requested",), "dispatcher")', '("extension_requested",), "department")', (SM,)),
    Mutant("a department may escalate", CASES,
           'if action == "escalate" and case.state == "in_progress" and case.department_id is not None:',
           'if action == "escalate" and case.state == "in_progress" and case.department_id is None:', (SM,)),
    # who sees a case
    Mutant("claims reach every cadre", CASES, ".where(\n            CompoundClaim.user_id == user.id)))",
           ".where(\n            CompoundClaim.user_id.isnot(None))))", (LISTS,)),
    Mutant("a resident sees every case", CASES,
           'return GridCase.reporter_phone == user.phone if user.phone else sa.false()',
           'return sa.true()', (LISTS, PUBLIC)),
    # deadlines and on-time
    Mutant("extension in calendar days", CASES,
           "case.resolve_by = deadlines.extend(cal, case.resolve_by or now, days)",
           "case.resolve_by = (case.resolve_by or now) + dt.timedelta(days=days)", (DEADLINES, SM)),
    Mutant("on time is strictly before", CASES, "now <= case.resolve_by", "now < case.resolve_by", (DEADLINES,)),
    # the tenant filter
    Mutant("filter skips bulk update and delete", "saas/db.py",
           "if not (state.is_select or state.is_update or state.is_delete):", "if not state.is_select:", (TENANCY,)),
    Mutant("filter skips selects of a table", "saas/db.py",
           "if not (any(_is_tenant_mapper(m) for m in state.all_mappers) or _names_tenant_table(state.statement)):",
           "if not any(_is_tenant_mapper(m) for m in state.all_mappers):", (TENANCY,)),
    Mutant("filter not on relationship loads", "saas/db.py", "include_aliases=True)\n    )",
           "include_aliases=True, propagate_to_loaders=False)\n    )", (TENANCY,)),
    Mutant("new rows not stamped across tenants", "saas/db.py",
           "elif checked and tenant_id is not None and obj.tenant_id != tenant_id:",
           "elif False:", (TENANCY,)),
    # auth
    Mutant("an expired phone code accepted", "saas/auth.py",
           "PhoneCode.used_at.is_(None), PhoneCode.expires_at > utcnow())", "PhoneCode.used_at.is_(None))",
           (AUTH, PUBLIC)),
    Mutant("a used phone code accepted again", "saas/auth.py",
           ".where(PhoneCode.phone == phone, PhoneCode.used_at.is_(None),", ".where(PhoneCode.phone == phone,",
           (AUTH, PUBLIC)),
    Mutant("unlimited wrong tries", "saas/auth.py", "if row is None or row.attempts >= PHONE_CODE_ATTEMPTS:",
           "if row is None:", (AUTH, PUBLIC)),
    # the outbox and notices
    Mutant("notify ignores its event key", "saas/notify.py",
           'event = event_key or f"{kind}:{utcnow().isoformat()}:{id(context)}"',
           'event = f"{kind}:{utcnow().isoformat()}:{id(context)}"', (OUTBOX,)),
    Mutant("a sent delivery is sent again", "workers/delivery.py", "if row is None or row.status in FINAL:",
           "if row is None:", (OUTBOX,)),
    Mutant("retries never give up", "workers/delivery.py", "if row.attempts >= MAX_ATTEMPTS or err.permanent:",
           "if err.permanent:",
           (OUTBOX,)),
    # secrets: a phone code in clear only to the gateway
    Mutant("a notice's secret stored in clear", "saas/notify.py",
           "shown = {**context, **dict.fromkeys(template.secrets, SECRET_MASK)}", "shown = context", (SECRETS,)),
    Mutant("an ended delivery keeps its secret", "saas/notify.py",
           "    if value in FINAL:\n        target.sealed_enc = None",
           "    if False:\n        target.sealed_enc = None", (SECRETS,)),
    # one rule, every door
    Mutant("Open311 skips the area rule", CASES,
           "    if staff:\n        if not actor.may(\"grid_cases.report\", unit):",
           "    if staff and source != \"open311\":\n        if not actor.may(\"grid_cases.report\", unit):",
           (OPEN311,)),
    # business feedback: the state machine, who sees an item, a supervisor's term, deadlines and 督办
    Mutant("feedback answered before it is accepted", BF_ITEMS,
           'Transition("answer", _l("Answer with the measures taken"), ("assigned",), "department")',
           'Transition("answer", _l("Answer with the measures taken"), ("submitted", "assigned"), "department")',
           (BF_SM,)),
    Mutant("feedback closed by its supervisor", BF_ITEMS, 'Transition("close", _l("Close"), ("rated",), "office")',
           'Transition("close", _l("Close"), ("rated",), "supervisor")', (BF_SM,)),
    Mutant("feedback rated by a department", BF_ITEMS, '("answered",), "supervisor")',
           '("answered",), "department")', (BF_SM,)),
    Mutant("a department sees every feedback item", BF_ITEMS,
           "Assignment.department_id.in_(departments))))", "Assignment.department_id.isnot(None))))",
           (BF_SM, BF_HIDDEN, BF_PAGES)),
    Mutant("a hidden supervisor's name revealed", BF_ITEMS,
           'return item.show_name or actor.may("business_feedback.triage") or (',
           'return True or actor.may("business_feedback.triage") or (', (BF_HIDDEN,)),
    Mutant("feedback deadline in calendar days", BF_ITEMS, "deadline = cal.add_working_days(now, days)",
           "deadline = now + dt.timedelta(days=days)", (BF_SM, BF_OVERDUE)),
    Mutant("feedback answered on time is strictly before", BF_ITEMS,
           "mine.answered_on_time = now <= mine.deadline_at", "mine.answered_on_time = now < mine.deadline_at",
           (BF_SM, BF_OVERDUE)),
    Mutant("not satisfied sends it back every time", BF_ITEMS,
           'if rating == "unsatisfied" and item.returned < 1:', 'if rating == "unsatisfied":', (BF_SM,)),
    Mutant("a supervisor out of term submits", BF_ITEMS, "if reason is not None or sup is None:",
           "if sup is None:", (BF_ROSTER_TESTS, BF_SM)),
    Mutant("a dismissal counts from the next day", BF_ROSTER,
           "if sup.dismissed_on is not None and sup.dismissed_on <= day:",
           "if sup.dismissed_on is not None and sup.dismissed_on < day:", (BF_ROSTER_TESTS,)),
    Mutant("a term's last day already expired", BF_ROSTER, "if day > sup.term_end:", "if day >= sup.term_end:",
           (BF_ROSTER_TESTS,)),
    Mutant("dismissed supervisors get certificates", "blueprints/business_feedback/views/roster.py",
           'if r["status"] != "dismissed" and (not batch or r["batch"] == batch)]',
           'if (not batch or r["batch"] == batch)]', (BF_ROSTER_TESTS, BF_PAGES)),
    Mutant("督办 a day late", BF_SUPERVISION, 'if days_over >= conf["supervise_after_days"]:',
           'if days_over > conf["supervise_after_days"]:', (BF_OVERDUE,)),
    Mutant("督办 counted in calendar days", BF_SUPERVISION,
           "level = level_for(cal.working_days_between(assignment.deadline_at, now), conf)",
           "level = level_for((now - assignment.deadline_at).days, conf)", (BF_OVERDUE,)),
    Mutant("a 督办 level recorded again", BF_SUPERVISION, "if level <= assignment.overdue_level:",
           "if level < assignment.overdue_level:", (BF_OVERDUE,)),
    # cadre evaluation: the campaign's steps, the ballot window, one ballot per person, codes, who sees results
    Mutant("a draft campaign closed", CE, '"close": (("open",), "closed")', '"close": (("draft", "open"), "closed")',
           (CE_SETUP, CE_BALLOTS, CE_SCHEDULE)),
    Mutant("targets change after the opening", CE,
           "        raise Refused(str(FROZEN), 409)\n    if data.get(\"area\")",
           "        pass\n    if data.get(\"area\")", (CE_SETUP, CE_BALLOTS)),
    Mutant("ballots taken after closes_at", CE,
           'if campaign.state != "open" or (campaign.closes_at and now >= campaign.closes_at):',
           'if campaign.state != "open":', (CE_BALLOTS, CE_SCHEDULE)),
    Mutant("ballots taken before opens_at", CE,
           'if campaign.state in PREPARING or (campaign.state == "open" and campaign.opens_at and now < '
           'campaign.opens_at):', "if campaign.state in PREPARING:", (CE_BALLOTS, CE_SCHEDULE)),
    Mutant("a waiting ballot counted twice", CE,
           "        session.execute(sa.delete(PendingSubmission).where(PendingSubmission.id.in_(",
           "        session.execute(sa.delete(PendingSubmission).where(PendingSubmission.id.in_([]) & "
           "PendingSubmission.id.in_(",
           (CE_BALLOTS, CE_TALLY)),
    Mutant("too few ballots still scored", CE, "if count >= campaign.min_ballots:",
           "if count + 1 >= campaign.min_ballots:", (CE_TALLY,)),
    Mutant("results shown to all once closed", CE,
           'if campaign.state in PUBLISHED or (campaign.state == "closed" and actor is not None and '
           'actor.may(MANAGE)):', 'if campaign.state in (*PUBLISHED, "closed"):', (CE_RESULTS, CE_TALLY)),
    Mutant("a seat code used twice", CE_CHANNELS,
           '    if seat.spent:\n        raise Refused(_("This seat code has already been used',
           '    if False:\n        raise Refused(_("This seat code has already been used', (CE_CHANNEL_TESTS,)),
    Mutant("an expired seat code accepted", CE_CHANNELS, "if seat.expires_at <= utcnow():", "if False:",
           (CE_CHANNEL_TESTS,)),
    Mutant("an invitation used twice", CE_CHANNELS,
           '    if invitation.spent:\n        raise Refused(', '    if False:\n        raise Refused(',
           (CE_CHANNEL_TESTS,)),
    Mutant("a department reads every target's opinions", CE_CHANNELS,
           "targets = [t for t in targets if t.department in departments]", "targets = list(targets)",
           (CE_SECRECY, CE_CHANNEL_TESTS)),
    # elderly visits: who sees whom and what, visits, emergencies and their escalation
    Mutant("a worker sees other workers' residents", EV,
           "clauses += [ElderlyPerson.worker_id == actor.id, ElderlyPerson.backup_worker_id == actor.id]",
           "clauses += [ElderlyPerson.worker_id.isnot(None), ElderlyPerson.backup_worker_id == actor.id]",
           (EV_SERVICES, EV_DOORS)),
    Mutant("the sensitive part shown to every viewer", EV,
           'return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.sensitive", grid))',
           'return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.view", grid))',
           (EV_SERVICES, EV_DOORS)),
    Mutant("a viewer logs visits", EV,
           'return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.visit", grid))',
           'return assigned(actor, person) or (grid is not None and actor.may("elderly_visits.view", grid))',
           (EV_SERVICES, EV_DOORS)),
    Mutant("a visit's client key ignored", EV, '    key = data.get("client_key")\n    if key:',
           '    key = None\n    if key:', (EV_SERVICES, EV_DOORS)),
    Mutant("an older visit moves the schedule", EV,
           "if person.last_visit_at is None or at >= person.last_visit_at:", "if True:", (EV_SERVICES,)),
    Mutant("a viewer acts on an emergency", EV,
           '            or (grid is not None and actor.may("elderly_visits.respond", grid)))',
           '            or (grid is not None and actor.may("elderly_visits.view", grid)))',
           (EV_JOB_TESTS, EV_DOORS)),
    Mutant("an emergency escalated on every run", EV_JOBS, "Emergency.escalated_at.is_(None),",
           "", (EV_JOB_TESTS,)),
    Mutant("an unanswered emergency never escalated", EV_JOBS,
           'q = (sa.select(Emergency).where(Emergency.state == "raised",',
           'q = (sa.select(Emergency).where(Emergency.state == "acknowledged",', (EV_JOB_TESTS,)),
    Mutant("an overdue visit escalated a day early", EV_JOBS,
           "ElderlyPerson.next_visit_on < today - dt.timedelta(days=grace)",
           "ElderlyPerson.next_visit_on <= today - dt.timedelta(days=grace)", (EV_JOB_TESTS,)),
    # the kernel: one-time links, the import's staged files, the export's masks, the platform's scope
    Mutant("an expired password link opens", "saas/passwords.py",
           "PasswordToken.token_hash == _token_hash(plain), PasswordToken.used_at.is_(None),\n"
           "        PasswordToken.expires_at > utcnow())).first()",
           "PasswordToken.token_hash == _token_hash(plain), PasswordToken.used_at.is_(None),\n"
           "        )).first()", (PASSWORDS, PROVISIONING)),
    Mutant("a new password link leaves the old one live", "saas/passwords.py",
           "PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))",
           "PasswordToken.user_id == -1, PasswordToken.used_at.is_(None))",
           (PASSWORDS, PROVISIONING)),
    Mutant("an export not masked", "saas/exports.py", "if personal is not None and not reveal:",
           "if personal is not None and reveal:", (EXPORTS,)),
    Mutant("a staged import claimed by another person", "saas/imports.py",
           '(payload.get("tenant_id"), payload.get("user_id"), payload.get("kind")) != (tenant_id, user_id, kind)',
           'payload.get("tenant_id") != tenant_id', (IMPORT, IMPORT_CONTRACT)),
    Mutant("a staged import never expires", "saas/imports.py", "ttl=ttl)))", "ttl=None)))",
           (IMPORT, IMPORT_CONTRACT)),
    Mutant("a district reads every district's row", "saas/db.py",
           '"tenants_read": f"FOR SELECT USING ({_PLATFORM} OR {_TENANT} IS NULL OR {own})"',
           '"tenants_read": "FOR SELECT USING (true)"', (RLS,), "postgres"),
    Mutant("the platform's tables open to districts", "saas/db.py",
           'f"CREATE POLICY platform_only ON {name} USING ({_PLATFORM}) WITH CHECK ({_PLATFORM})"',
           'f"CREATE POLICY platform_only ON {name} USING (true) WITH CHECK ({_PLATFORM})"', (RLS,), "postgres"),
    Mutant("every page acts for the platform", "tenants/resolution.py",
           'db.set_platform(bool(endpoint) and (endpoint.startswith("platform.") or endpoint == "metrics.metrics"))',
           "db.set_platform(bool(endpoint))", (RLS,), "postgres"),
    # a second set, planted after the first had its tests: the same kinds, in other places
    Mutant("a department records a coordination", BF_ITEMS,
           '    if not actor.may("business_feedback.triage"):\n        raise Refused(_("Only %(who)s may do this at '
           'this step.", who=WHO_LABELS["office"]), 403)',
           '    if False:\n        raise Refused(_("Only %(who)s may do this at '
           'this step.", who=WHO_LABELS["office"]), 403)', (BF_SM, BF_PAGES)),
    Mutant("a coordination of one department", BF_ITEMS, "if len(assignments_of(session, item)) < 2:",
           "if len(assignments_of(session, item)) < 1:", (BF_SM, BF_PAGES)),
    Mutant("a coordination on a closed item", BF_ITEMS, 'if item.state not in ("assigned", "answered"):',
           "if False:", (BF_SM, BF_PAGES)),
    Mutant("a department answers for another", BF_ITEMS,
           "rows = [a for a in assignments_of(session, item) if a.department_id in departments]",
           "rows = assignments_of(session, item)", (BF_SM, BF_OVERDUE)),
    Mutant("an item answered before every department has", BF_ITEMS,
           "waiting = [a for a in assignments_of(session, item) if a.answered_at is None and a.id != mine.id]",
           "waiting = []", (BF_SM, BF_OVERDUE)),
    Mutant("a decline without a reason", BF_ITEMS,
           '("submitted",), "office", note="required", style="secondary")',
           '("submitted",), "office", style="secondary")', (BF_SM, BF_PAGES)),
    Mutant("a hidden name in the timeline", BF_ITEMS, "hidden = e.by_supervisor and not reveal", "hidden = False",
           (BF_HIDDEN,)),
    Mutant("departments told a hidden name on assignment", BF_ITEMS,
           '"business_feedback.assigned", people, reveal=item.show_name,',
           '"business_feedback.assigned", people, reveal=True,', (BF_HIDDEN, BF_SM)),
    Mutant("督办 notices tell a hidden name", BF_SUPERVISION,
           "notice_context(session, item, reveal=item.show_name, level=level_label",
           "notice_context(session, item, reveal=True, level=level_label", (BF_OVERDUE, BF_HIDDEN)),
    Mutant("a returned item's 督办 notices deduplicated away", BF_SUPERVISION,
           'event_key=f"bf:assignment:{assignment.id}:{item.returned}:level:{level}"',
           'event_key=f"bf:assignment:{assignment.id}:level:{level}"', (BF_OVERDUE,)),
    Mutant("a dismissed supervisor reminded of the term", BF_SUPERVISION,
           "Supervisor.reminded_at.is_(None), Supervisor.dismissed_on.is_(None),",
           "Supervisor.reminded_at.is_(None),", (BF_OVERDUE,)),
    Mutant("an answered department supervised", BF_SUPERVISION,
           '.where(FeedbackItem.state == "assigned", Assignment.answered_at.is_(None), Assignment.deadline_at < now)\n'
           '        .order_by(Assignment.deadline_at).limit(BATCH))',
           '.where(FeedbackItem.state == "assigned", Assignment.deadline_at < now)\n'
           '        .order_by(Assignment.deadline_at).limit(BATCH))', (BF_OVERDUE,)),
    Mutant("the set-up changed after the opening", CE,
           '    if campaign.state not in PREPARING:\n        raise Refused(str(FROZEN), 409)\n    # a schedule time',
           '    # a schedule time', (CE_SETUP,)),
    Mutant("a target removed after the opening", CE,
           '    if campaign.state not in PREPARING:\n        raise Refused(str(FROZEN), 409)\n    target = session',
           '    target = session', (CE_SETUP, CE_RESULTS)),
    Mutant("anyone steps a campaign", CE, "    _need(actor)\n    return apply_step(", "    return apply_step(",
           (CE_SETUP, CE_TALLY)),
    Mutant("a lone ballot moved at once", CE, "if not everything and len(rows) < size:",
           "if not everything and len(rows) < 1:", (CE_BALLOTS, CE_TALLY)),
    Mutant("不了解 counted in the averages", CE, "        if level in counted:\n",
           "        if level in points:\n", (CE_TALLY,)),
    Mutant("a receipt checked across campaigns", CE,
           "if session.scalar(sa.select(Receipt.id).where(Receipt.campaign_id == campaign.id,\n"
           "                                                  Receipt.receipt_hash == digest))",
           "if session.scalar(sa.select(Receipt.id).where(\n"
           "                                                  Receipt.receipt_hash == digest))", (CE_BALLOTS,)),
    Mutant("an opinion on a person not rated", CE, "        if str(raw_id) not in clean:", "        if False:",
           (CE_SECRECY, CE_CHANNEL_TESTS)),
    Mutant("a department user's phone ignored", CE_CHANNELS, "    if actor.user.phone:\n        return services",
           "    if False:\n        return services", (CE_CHANNEL_TESTS, CE_SECRECY)),
    Mutant("a paper sheet entered twice", CE_CHANNELS,
           '                                                     PaperSheet.state == "valid")) is not None:',
           '                                                     PaperSheet.state == "void")) is not None:',
           (CE_CHANNEL_TESTS,)),
    Mutant("a voided sheet corrected again", CE_CHANNELS, '    if sheet.state != "valid":', "    if False:",
           (CE_CHANNEL_TESTS,)),
    Mutant("a group's cap passed by one", CE_CHANNELS, "if issued + wanted > group.cap:",
           "if issued + wanted > group.cap + 1:", (CE_CHANNEL_TESTS, "tests/blueprints/cadre_evaluation/"
                                                     "test_channels_limits.py")),
    Mutant("opinions to anyone signed in", CE_CHANNELS,
           '    if not may_see_opinions(actor):\n        raise Refused(_("You do not have permission to do this."), '
           '403)',
           "    pass", (CE_SECRECY, CE_CHANNEL_TESTS, CE_FOLLOWUP)),
    Mutant("overdue includes today", EV, "stmt = stmt.where(ElderlyPerson.next_visit_on < today)",
           "stmt = stmt.where(ElderlyPerson.next_visit_on <= today)", (EV_SERVICES, EV_DOORS)),
    Mutant("this week's list stops a day short", EV,
           "ElderlyPerson.next_visit_on <= today + dt.timedelta(days=6 - today.weekday())",
           "ElderlyPerson.next_visit_on < today + dt.timedelta(days=6 - today.weekday())", (EV_SERVICES, EV_DOORS)),
    Mutant("a visit dated in the future", EV, "if at > now + CLOCK_SKEW:", "if False:", (EV_SERVICES, EV_DOORS)),
    Mutant("a visit logged after 30 days", EV, "if at < now - MAX_LATE:", "if False:", (EV_SERVICES, EV_DOORS)),
    Mutant("高龄 from 81", EV, "if age_on(birth, today) >= 80:", "if age_on(birth, today) > 80:", (EV_SERVICES,)),
    Mutant("the longest interval wins", EV, "return min(days) if days else None", "return max(days) if days else None",
           (EV_SERVICES,)),
    Mutant("a viewer registers residents", EV, 'if not actor.may("elderly_visits.manage", grid):',
           'if not actor.may("elderly_visits.view", grid):', (EV_SERVICES, EV_DOORS)),
    Mutant("a viewer raises an emergency", EV, 'actor.may("elderly_visits.emergency", grid))):',
           'actor.may("elderly_visits.view", grid))):', (EV_JOB_TESTS, EV_DOORS)),
    Mutant("a closed emergency closed again", EV,
           '_check(session, actor, emergency_id, data["version"], ("raised", "acknowledged"))',
           '_check(session, actor, emergency_id, data["version"], ("raised", "acknowledged", "closed"))',
           (EV_JOB_TESTS, EV_DOORS)),
    Mutant("an emergency acted on a stale version", EV,
           "if version is not None and emergency.version != version:", "if False:", (EV_JOB_TESTS, EV_DOORS)),
    Mutant("a sensitive view not audited", EV,
           '        audit.record(session, actor, "elderly_visits.view_sensitive", "elderly_person"',
           '        (lambda *_a, **_k: None)(session, actor, "elderly_visits.view_sensitive", "elderly_person"',
           (EV_SERVICES, EV_DOORS)),
    Mutant("a need resolved by a viewer", EV,
           '    if not may_visit(actor, person, unit_by_id(session, person.grid_id)):\n        raise Refused(_("Only '
           "the resident's grid workers follow up",
           "    if False:\n        raise Refused(_(\"Only the resident's grid workers follow up",
           (EV_SERVICES, EV_DOORS)),
    Mutant("an overdue resident escalated every day", EV_JOBS,
           "sa.or_(ElderlyPerson.escalated_for.is_(None), ElderlyPerson.escalated_for != ElderlyPerson.next_visit_on)",
           "sa.true()", (EV_JOB_TESTS,)),
    Mutant("an emergency escalated at once", EV_JOBS,
           "Emergency.raised_at <= now - dt.timedelta(minutes=minutes)", "Emergency.raised_at <= now",
           (EV_JOB_TESTS,)),
    Mutant("an expired link kept in the browser", "saas/passwords.py",
           "PasswordToken.id == link_id, PasswordToken.used_at.is_(None), PasswordToken.expires_at > utcnow())",
           "PasswordToken.id == link_id, PasswordToken.used_at.is_(None))", (PASSWORDS, PROVISIONING)),
    Mutant("a link sets an inactive account's password", "saas/passwords.py",
           'User.id == link.user_id, User.kind == "staff",\n' + " " * 49 + "User.active.is_(True))",
           'User.id == link.user_id, User.kind == "staff")', (PASSWORDS, PROVISIONING)),
    Mutant("a link spent twice", "saas/passwords.py",
           "PasswordToken.id == link.id, PasswordToken.used_at.is_(None))", "PasswordToken.id == link.id)",
           (PASSWORDS, PROVISIONING)),
    Mutant("a formula exported live", "saas/exports.py",
           "return \"'\" + text if text.startswith(FORMULA_PREFIXES) else text", "return text", (EXPORTS,)),
    Mutant("a CSV export not masked", "saas/exports.py",
           "value = plain_value(row.get(c.key), zone, c.personal, reveal_personal)",
           "value = plain_value(row.get(c.key), zone)", (EXPORTS, MASKING)),
    Mutant("a workbook export not masked", "saas/exports.py",
           "plain = plain_value(value, self.book.tz, personal, self.book.reveal_personal)",
           "plain = plain_value(value, self.book.tz)", (EXPORTS, MASKING)),
    Mutant("a staged import of another kind confirmed", "saas/imports.py",
           '(payload.get("tenant_id"), payload.get("user_id"), payload.get("kind")) != (tenant_id, user_id, kind)',
           '(payload.get("tenant_id"), payload.get("user_id")) != (tenant_id, user_id)', (IMPORT, IMPORT_CONTRACT)),
    Mutant("an import writes rows that went bad", "saas/imports.py",
           "    if not checked.ok:\n        return checked, None\n    return checked, kind.write",
           "    return checked, kind.write", (IMPORT, IMPORT_CONTRACT)),
    Mutant("a district updates another district's row", "saas/db.py",
           '"tenants_update": f"FOR UPDATE USING ({_PLATFORM} OR {own}) WITH CHECK ({_PLATFORM} OR {own})"',
           '"tenants_update": "FOR UPDATE USING (true) WITH CHECK (true)"', (RLS,), "postgres"),
    Mutant("a district creates districts", "saas/db.py", '"tenants_insert": f"FOR INSERT WITH CHECK ({_PLATFORM})"',
           '"tenants_insert": "FOR INSERT WITH CHECK (true)"', (RLS,), "postgres"),
    Mutant("the platform's pages served on a district's host", "tenants/resolution.py",
           '    if request.blueprint == "platform":\n        abort(404)', "    pass", (PLATFORM, RLS)),
    Mutant("a module provisioned every time it is switched on", "tenants/services.py",
           "if enabled and row.provisioned_at is None:", "if enabled:", (MODULES, "tests/blueprints/"
                                                                         "business_feedback/test_provision.py")),
)


def _dirty(path: str) -> bool:
    done = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path], cwd=ROOT, check=False)  # noqa: S603, S607
    return done.returncode != 0


def run_one(m: Mutant, timeout: float, env: dict[str, str]) -> tuple[str, float]:
    """'killed', 'survived', 'timeout' or 'error: ...', and the seconds it took; the file is restored always."""
    file = ROOT / m.path
    original = file.read_text()
    if original.count(m.old) != 1:
        return f"error: the planted text is found {original.count(m.old)} times in {m.path}", 0.0
    started = time.monotonic()
    file.write_text(original.replace(m.old, m.new))
    try:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests],
            cwd=ROOT, env={**env, "WGT_TEST_BACKENDS": m.backends}, capture_output=True, text=True,
            timeout=timeout, check=False)
        # 1: a test failed (the fault is caught); 0: all passed (it survived); anything else is the run's own error
        outcome = {0: "survived", 1: "killed"}.get(done.returncode, f"error: pytest exit {done.returncode}")
        if outcome.startswith("error"):
            outcome += "\n" + done.stdout[-1500:]
    except subprocess.TimeoutExpired:
        outcome = "timeout"
    finally:
        file.write_text(original)
    return outcome, time.monotonic() - started


def write_docs(lines: list[str], rate: str, command: str) -> None:
    doc = ROOT / "docs" / "testing.md"
    text = doc.read_text() if doc.exists() else "# Testing\n"
    block = ("<!-- mutants:begin -->\n"
             f"Last run: `{command}` — survival rate **{rate}**.\n\n"
             "| fault | result | seconds |\n|---|---|---|\n" + "\n".join(lines) + "\n<!-- mutants:end -->")
    if "<!-- mutants:begin -->" in text:
        text = re.sub(r"<!-- mutants:begin -->.*?<!-- mutants:end -->", lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=3600, help="stop planting after this many seconds")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for one fault's tests")
    parser.add_argument("--only", nargs="*", help="names (substrings) of the faults to plant")
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/testing.md")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    dirty = sorted({m.path for m in chosen if _dirty(m.path)})
    if dirty:
        print(f"uncommitted changes in {', '.join(dirty)}: commit or stash them first", file=sys.stderr)
        return 2
    env = dict(os.environ)
    deadline = time.monotonic() + args.budget
    results: list[tuple[Mutant, str, float]] = []
    for m in chosen:
        if time.monotonic() > deadline:
            results.append((m, "not run (budget)", 0.0))
            continue
        outcome, seconds = run_one(m, min(args.timeout, max(deadline - time.monotonic(), 30)), env)
        results.append((m, outcome, seconds))
        print(f"{outcome.splitlines()[0]:>10}  {seconds:6.0f}s  {m.name}  ({m.path})", flush=True)
        if outcome.startswith("error"):
            print(outcome, file=sys.stderr)
    ran = [r for r in results if r[1] in ("killed", "survived", "timeout")]
    survived = [r for r in ran if r[1] == "survived"]
    rate = f"{len(survived)}/{len(ran)} survived ({100 * len(survived) / len(ran):.0f} %)" if ran else "nothing ran"
    print(rate)
    if args.write_docs:
        command = "python scripts/mutants.py " + " ".join(sys.argv[1:])
        write_docs([f"| {m.name} (`{m.path}`) | {o.splitlines()[0]} | {s:.0f} |" for m, o, s in results], rate,
                   command.strip())
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
