"""A region that scrolls sideways on a phone must be reachable by keyboard (WCAG 2.1.1, axe
`scrollable-region-focusable`): a keyboard user scrolls a wide table only once it can take the focus. Whether a
table overflows depends on what is in it, so the browser tests catch it only on some data; this holds it for every
template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCROLLING = re.compile(r'<(?:div|ol|table)\b[^>]*class="(?:overflow-auto|import-errors|chart-table)"[^>]*>')


def templates():
    return sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("blueprints/*/templates/**/*.html")])


@pytest.mark.one_backend
def test_every_scrolling_region_takes_the_keyboard_focus():
    found, unreachable = 0, []
    for path in templates():
        for tag in SCROLLING.findall(path.read_text(encoding="utf-8")):
            found += 1
            if 'tabindex="0"' not in tag:
                unreachable.append(f"{path.relative_to(ROOT)}: {tag}")
    assert found > 20  # the pattern still finds the regions it is meant to check
    assert not unreachable, "\n".join(unreachable)
