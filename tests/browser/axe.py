"""axe-core (npm, with the lockfile) on every page the browser journeys open, at 375 and 1280 px.

Each browser context gets axe and a small script that runs it once a page has loaded; the script asks first
whether this kind of page (its path with numbers and codes folded) was already checked at this width, and
reports serious and critical violations back, which fail the journey like a page error does. Module authors get
it for free: every page a journey reaches is checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")

# once the page has loaded and htmx has settled what it loads at once; only the top frame
RUN_AXE = """
window.addEventListener("load", function () {
  if (window.top !== window || !window.axe) { return; }
  window.setTimeout(async function () {
    if (!(await window.wgtAxeWanted(location.pathname, window.innerWidth))) { return; }
    let result = null;
    while (!result) {  // a test's own axe run on the page goes first
      try {
        result = await window.axe.run(document, {resultTypes: ["violations"]});
      } catch (e) {
        if (!String(e).includes("already running")) { throw e; }
        await new Promise(function (done) { window.setTimeout(done, 50); });
      }
    }
    const found = result.violations.map(function (v) {
      return {id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 4).map(function (n) {
                return n.target.join(" ") + " " + (n.failureSummary || "").split("\\n").slice(1, 2).join("");
              })};
    });
    await window.wgtAxeReport(location.pathname, window.innerWidth, found);
  }, 150);
});
"""

# the kind of page: /t/lusong/grid_cases/cases/12 and /cases/13 are one page, checked once per width
_VARIABLE = re.compile(r"/(?:\d+|[0-9a-f]{8,}|[A-Z0-9-]{6,}|[A-Za-z0-9_-]{20,})(?=/|$)")


def page_kind(path: str) -> str:
    return _VARIABLE.sub("/*", path)


class AxeChecker:
    """What axe found, for the whole run: the kinds of page checked and the violations that fail."""

    def __init__(self) -> None:
        self.checked: set[tuple[str, int]] = set()
        self.asked: set[tuple[str, int]] = set()
        self.counts: dict[str, int] = {}

    def watch(self, context: Any, problems: list[str]) -> None:
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(script=RUN_AXE)

        def wanted(_source: Any, path: str, width: int) -> bool:
            key = (page_kind(path), int(width))
            if key in self.checked:
                return False
            self.asked.add(key)
            return True

        def report(_source: Any, path: str, width: int, violations: list[dict[str, Any]]) -> None:
            key = (page_kind(path), int(width))
            if key in self.checked:
                return
            self.checked.add(key)
            for v in violations:
                self.counts[v["impact"] or "unknown"] = self.counts.get(v["impact"] or "unknown", 0) + 1
                if v["impact"] in FAILING:
                    problems.append(f"axe at {width} px on {path}: {v['id']} ({v['impact']}) {v['help']}: "
                                    + "; ".join(v["nodes"]))

        context.expose_binding("wgtAxeWanted", wanted)
        context.expose_binding("wgtAxeReport", report)

    def summary(self) -> str:
        widths = sorted({w for _, w in self.checked})
        per_width = ", ".join(f"{sum(1 for _, x in self.checked if x == w)} at {w} px" for w in widths)
        found = ", ".join(f"{n} {impact}" for impact, n in sorted(self.counts.items())) or "none"
        return f"axe-core checked {len(self.checked)} kinds of page ({per_width}); violations by impact: {found}"
