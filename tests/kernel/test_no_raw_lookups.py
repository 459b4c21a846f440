"""Modules look rows up only through the ORM, so the kernel's tenant filter applies to every statement.

`session.get(Model, id)` answers from the identity map by primary key (with composite keys, a tenant-less
look-up by the id alone), and `text()` SQL bypasses the ORM's criteria: on SQLite, where there is no
row-level security, either would be a way around the tenant filter. Both are banned in blueprints/.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BANNED = re.compile(r"\.get\(\s*[A-Z]\w*\s*,|\bsa\.text\(|\bsqlalchemy\.text\(|(?<![\w.])text\(")


def test_no_module_uses_session_get_or_text_sql() -> None:
    found = []
    for path in sorted((ROOT / "blueprints").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BANNED.search(line.split("#", 1)[0]):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "raw look-ups in modules:\n" + "\n".join(found)


def test_the_check_finds_what_it_bans() -> None:
    for line in ("db.session.get(GridCase, 5)", "session.get(User, uid)", "s.execute(sa.text('select 1'))",
                 "conn.execute(text('x'))"):
        assert BANNED.search(line), line
    for line in ("request.args.get('q')", "data.get('note', '')", "row.text", "note.text.strip()"):
        assert not BANNED.search(line), line
