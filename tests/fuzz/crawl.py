"""Find what to fuzz without a list to keep up to date: the app's pages, their forms, and its POST routes.

`crawl` starts from every GET route that needs no id and follows the links it finds, so a detail page
reached only through a link is visited too. `Form`s are read from the HTML (`<form method=post>` and any
element with `hx-post`). `post_rules` lists the POST routes of the URL map, so a route whose form the
crawl never met is still fuzzed blind, and a new route needs no edit here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

# the markers a stored or reflected payload leaves when it is NOT escaped
UNESCAPED = ("<script>alert(1)", "<img src=x onerror=alert(1)")


@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "textarea" or "button"
    value: str = ""
    options: list[str] = field(default_factory=list)
    inputmode: str = ""
    checked: bool = True
    required: bool = False


@dataclass
class Form:
    page: str
    action: str
    fields: list[Field]
    multipart: bool = False
    codes: list[str] = field(default_factory=list)  # the codes shown on the form's page

    def names(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields if f.name and f.name != "csrf_token"))


class _FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.codes: list[str] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        for attr in ("href", "hx-get"):
            if attrs.get(attr):
                self.links.append(urljoin(self.page, attrs[attr]))
        if tag == "code":
            self._in_code = True
        if tag == "form":
            method = attrs.get("method", "get").lower()
            action = attrs.get("hx-post") or (attrs.get("action") if method == "post" else None)
            if action is not None:
                enctype = attrs.get("enctype", "") or attrs.get("hx-encoding", "")
                self._form = Form(self.page, urljoin(self.page, action), [], "multipart" in enctype)
            return
        if attrs.get("hx-post") and self._form is None:
            # a button or link that posts on its own, outside any form
            self.forms.append(Form(self.page, urljoin(self.page, attrs["hx-post"]), []))
            return
        if self._form is None:
            return
        name = attrs.get("name", "")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("submit", "image", "reset"):
                return
            self._form.fields.append(Field(name, kind, attrs.get("value", ""), inputmode=attrs.get("inputmode", ""),
                                           checked=kind not in ("checkbox", "radio") or "checked" in attrs,
                                           required="required" in attrs))
        elif tag == "button" and name:
            self._form.fields.append(Field(name, "button", attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = Field(name, "select")
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select.options.append(value)
            if "selected" in attrs:
                self._select.value = value
        elif tag == "textarea" and name:
            self._textarea = Field(name, "textarea", required="required" in attrs)
            self._form.fields.append(self._textarea)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        # what looks like a code a person would type in a form (not the JSON an audit entry shows)
        if self._in_code and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", data.strip()):
            self.codes.append(data.strip())


def parse(page: str, html: str) -> _FormParser:
    parser = _FormParser(page)
    parser.feed(html)
    parser.close()
    return parser


def rule_urls(rule: Rule, tenant: str) -> list[str]:
    """The URLs of a rule that need no id: `<tenant>` filled, each choice of an `any(...)` converter."""
    choices: list[list[tuple[str, str]]] = []
    for arg in sorted(rule.arguments):
        conv = rule._converters[arg]
        if arg == "tenant":
            choices.append([(arg, tenant)])
        elif isinstance(conv, AnyConverter):
            choices.append([(arg, item) for item in sorted(conv.items)])
        else:
            return []
    urls = []
    for combo in itertools.product(*choices):
        path = rule.rule
        for arg, value in combo:
            path = re.sub(rf"<(?:[^<>:]+:)?{arg}>", value, path)
        urls.append(path)
    return urls


def is_page_rule(rule: Rule) -> bool:
    return not rule.rule.startswith(("/api/", "/static/")) and rule.endpoint != "static"


def post_rules(app: Flask) -> list[Rule]:
    """Every HTML route that takes a POST (the API's bodies come from the OpenAPI document instead)."""
    return [r for r in app.url_map.iter_rules() if "POST" in (r.methods or ()) and is_page_rule(r)]


@dataclass
class Site:
    pages: dict[str, str]
    forms: list[Form]
    codes: list[str]


PER_ENDPOINT = 3


def crawl(app: Flask, client: FlaskClient, tenant: str, limit: int = 300) -> Site:
    """Every page reachable from the id-free GET routes, with its forms and the codes it shows."""
    seeds = [u for r in app.url_map.iter_rules() if "GET" in (r.methods or ()) and is_page_rule(r)
             for u in rule_urls(r, tenant)]
    queue = list(dict.fromkeys(seeds))
    seen: set[str] = set()
    pages: dict[str, str] = {}
    forms: list[Form] = []
    codes: list[str] = []
    per_endpoint: dict[str, int] = {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or url in seen:
            continue
        seen.add(url)
        matched = endpoint_of(app, url, "GET")
        # a link to nowhere, a file or the JSON API is not this crawler's business
        if matched is None or matched[0] == "static" or parts.path.startswith("/api/"):
            continue
        # a few URLs of one page are enough (a calendar links to every month of every year)
        per_endpoint[matched[0]] = per_endpoint.get(matched[0], 0) + 1
        if per_endpoint[matched[0]] > PER_ENDPOINT:
            continue
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            continue  # the target is crawled on its own, as the person who would be sent there
        if response.status_code >= 500:
            pages[url] = f"SERVER ERROR {response.status_code}"
            continue
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[url] = html
        found = parse(url, html)
        for form in found.forms:
            form.codes = found.codes
        forms.extend(found.forms)
        codes.extend(found.codes)
        queue.extend(link for link in found.links if link not in seen)
    return Site(pages, forms, list(dict.fromkeys(codes)))


def endpoint_of(app: Flask, url: str, method: str = "POST") -> tuple[str, dict[str, Any]] | None:
    try:
        return app.url_map.bind("localhost").match(urlsplit(url).path, method=method)
    except HTTPException:
        return None


def blind_urls(rule: Rule, tenant: str, values: list[str]) -> Iterator[str]:
    """URLs for a POST route no page showed a form for: ids and free path segments from `values`."""
    path = rule.rule
    for arg in sorted(rule.arguments):
        conv = rule._converters[arg]
        if arg == "tenant":
            path = re.sub(rf"<(?:[^<>:]+:)?{arg}>", tenant, path)
        elif isinstance(conv, AnyConverter):
            path = re.sub(rf"<(?:[^<>:]+:)?{arg}>", sorted(conv.items)[0], path)
        elif isinstance(conv, IntegerConverter):
            path = re.sub(rf"<(?:[^<>:]+:)?{arg}>", "1", path)
    free = re.findall(r"<(?:[^<>:]+:)?(\w+)>", path)
    if not free:
        yield path
        return
    for value in values:
        out = path
        for arg in free:
            out = re.sub(rf"<(?:[^<>:]+:)?{arg}>", value, out)
        yield out


def _fill(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for arg, value in values.items():
        path = re.sub(rf"<(?:[^<>:]+:)?{arg}>", value, path)
    return path


def bad_segment_urls(app: Flask, url: str, values: list[str]) -> Iterator[str]:
    """The form's own URL with each free segment (a key, a day) or id replaced by a bad value in turn."""
    try:
        rule, args = app.url_map.bind("localhost").match(urlsplit(url).path, method="POST", return_rule=True)
    except HTTPException:
        return
    real = {k: str(v) for k, v in args.items()}
    for arg in sorted(rule.arguments):
        conv = rule._converters[arg]
        if arg == "tenant" or isinstance(conv, AnyConverter):
            continue
        bad = ["0", "-1", str(2**63), str(2**70)] if isinstance(conv, IntegerConverter) else values
        for value in bad:
            yield _fill(rule, {**real, arg: quote(value, safe="")})
