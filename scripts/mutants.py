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
    Mutant("retries never give up", "workers/delivery.py", "if row.attempts >= MAX_ATTEMPTS:", "if False:",
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
    parser.add_argument("--budget", type=float, default=1200, help="stop planting after this many seconds")
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
