"""The wording of notices: Jinja placeholders a district admin may write, with a bound on work and output.

A district admin rewrites the text of each kind of notice (`/t/<slug>/admin/notice-templates`). Jinja's sandbox
keeps them away from Python's insides but bounds no work: two nested `range(99999)` loops fit in 80 characters
and run until gunicorn kills the worker. So the wording is a small language, checked twice:

- **When saved** (`check`): the template's syntax tree may hold only text, placeholders (`{{ number }}`,
  `{{ case.title }}`), conditions (`{% if %}`, `x if y else z`, comparisons, `and`/`or`/`not`, `+`/`-`), the
  filters in `FILTERS`, the functions in `CALLS` (`localtime(deadline)`), and at most `MAX_LOOP_DEPTH` loop over a
  placeholder the notice gives (never over `range()` or another computed value, never a loop in a loop). No `set`,
  macro, include, `*`, `**` or `%` (string formatting pads to any width). The work of such a template is linear in
  its length and in the notice's values. A refused wording is not saved and the admin reads why.
- **When rendered** (`render`): the stored text is checked again before it runs (one stored before these rules,
  or written into the database some other way, fails at once with the reason instead of running), and the
  environment itself bounds what the rules already forbid: `range()` holds at most `MAX_RANGE` numbers, `*`, `**`
  and `%` refuse results past the bounds, and the output stops at `MAX_OUTPUT` characters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_LOOP_DEPTH = 1  # one loop over a list the notice gives; a loop in a loop multiplies the work
MAX_RANGE = 100  # numbers in a range(); Jinja's own sandbox allows 100,000
MAX_OUTPUT = 10_000  # characters of one rendered title or body (a title is cut to 200, an SMS to far less)
MAX_POWER = 64  # the largest exponent of **: 10**64 is a number, 9**9**9 is a minute of CPU
FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "int", "join", "last", "length", "lower",
    "round", "string", "title", "trim", "truncate", "upper",
})
CALLS = frozenset({"localtime"})  # functions the notice's context provides
_FORBIDDEN_NAMES = frozenset({"range", "lipsum", "cycler", "joiner", "namespace", "dict", "self"})
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr, nodes.Getitem,
    nodes.Slice, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.And,
    nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.Concat, nodes.Add, nodes.Sub, nodes.Keyword, nodes.For,
    nodes.Call, nodes.Tuple, nodes.List,
)
_SHOWN = {
    nodes.Mul: "*", nodes.Pow: "**", nodes.Mod: "%", nodes.Div: "/", nodes.FloorDiv: "//",
    nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}", nodes.FilterBlock: "{% filter %}", nodes.With: "{% with %}",
    nodes.Include: "{% include %}", nodes.Import: "{% import %}", nodes.FromImport: "{% from %}",
    nodes.Extends: "{% extends %}", nodes.Block: "{% block %}", nodes.Dict: "{…}", nodes.ExprStmt: "{% do %}",
}


class WordingRefused(ValueError):
    """A wording that breaks the rules; `message` says why, in the person's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _not_allowed(what: str) -> WordingRefused:
    return WordingRefused(_("A notice's wording may use placeholders, conditions (if) and simple filters only: "
                            "“%(what)s” is not allowed.", what=what))


def _plain(node: nodes.Node) -> bool:
    """A placeholder the notice gives (`items`, `case.items`), not a value computed in the template."""
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        node = node.node
    return isinstance(node, nodes.Name) and node.name not in _FORBIDDEN_NAMES


def _walk(node: nodes.Node, depth: int) -> None:
    if isinstance(node, nodes.For):
        if depth >= MAX_LOOP_DEPTH:
            raise _not_allowed("{% for %} … {% for %}")
        if node.recursive or not _plain(node.iter):
            called = isinstance(node.iter, nodes.Call) and isinstance(node.iter.node, nodes.Name)
            raise _not_allowed(f"{{% for … in {node.iter.node.name}(…) %}}" if called else "{% for … in … %}")
        depth += 1
    elif isinstance(node, nodes.Call):
        name = node.node.name if isinstance(node.node, nodes.Name) else None
        if name not in CALLS or node.dyn_args is not None or node.dyn_kwargs is not None or len(node.args) > 2:
            raise _not_allowed(f"{name or '…'}(…)")
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS or node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _not_allowed(f"|{node.name}")
    elif isinstance(node, nodes.Name):
        if node.name in _FORBIDDEN_NAMES:
            raise _not_allowed(node.name)
    elif not isinstance(node, _ALLOWED):
        raise _not_allowed(_SHOWN.get(type(node), type(node).__name__.lower()))
    for child in node.iter_child_nodes():
        _walk(child, depth)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() of more than {MAX_RANGE} numbers")
    return numbers


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with bounds on what can cost without end: ranges, `*`, `**` and `%`."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        for name in _FORBIDDEN_NAMES:
            self.globals.pop(name, None)
        self.globals["range"] = _bounded_range

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and abs(right) > MAX_POWER:
                raise SecurityError(f"** with an exponent above {MAX_POWER}")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
                    raise SecurityError(f"* making more than {MAX_OUTPUT} items")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError("% formatting")  # "%0999999999d" pads to any width
        return super().call_binop(context, operator, left, right)


sandbox = BoundedSandbox(autoescape=False)


def parse(text: str) -> nodes.Template:
    """The wording's syntax tree, checked: WordingRefused (with the reason) when it breaks the rules."""
    try:
        tree = sandbox.parse(text)
    except TemplateSyntaxError as err:
        raise WordingRefused(_("The placeholders are not written correctly: %(error)s", error=err.message or "")
                             ) from None
    _walk(tree, 0)
    return tree


def check(text: str) -> None:
    """Refuse (WordingRefused) a wording that breaks the rules; see the module's docstring."""
    parse(text)


def _chunks(template: Any, context: Mapping[str, Any]) -> Iterator[str]:
    try:
        yield from template.generate(context)
    except SecurityError as err:
        raise WordingRefused(_("The wording could not be filled in: %(error)s", error=str(err))) from None


def render(template: Any, context: Mapping[str, Any]) -> str:
    """A compiled wording filled in, stopped (WordingRefused) past MAX_OUTPUT characters."""
    out, size = [], 0
    for chunk in _chunks(template, context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise WordingRefused(_("The notice came out longer than %(n)s characters.", n=f"{MAX_OUTPUT:,}"))
        out.append(chunk)
    return "".join(out)


__all__ = ["CALLS", "FILTERS", "MAX_LOOP_DEPTH", "MAX_OUTPUT", "MAX_POWER", "MAX_RANGE", "BoundedSandbox",
           "WordingRefused", "check", "parse", "render", "sandbox"]
