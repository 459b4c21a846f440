"""Cross-tenant probe of every route: nothing of district B reaches anyone of district A.

The probe walks the app's whole URL map (pages and API), so a new route is covered without anyone editing
this file. Every rule and method is asked, for B's URL and for A's, by each role of A's RoleBook (kernel
and module roles; a session cookie for pages, the person's API token for /api/), by a citizen of A, by a
platform operator (B's URLs only) and by nobody at all; B's real token is sent to A's API as well:

- B's URL with B's ids, codes, days and tokens: the answer is 401, 403, 404, or a redirect to one of B's
  own sign-in pages, staff's or the residents' ("not signed in there");
- A's URL with B's ids in the URL: 401, 403, 404 or 422; with B's values only in the query or body, any
  answer below 500; B's token at A's API: 401;
- routes outside any district (`/lang`, `/platform/...`): a redirect, 401, 403 or 404.

A module's mount (`saas.modules.Mount`: a blueprint outside `/t/<tenant>/`, such as Open311 at
`/open311/v2/`) names the district by a parameter (`jurisdiction_id`) instead of its URL; `fill.MOUNTS`
says, per mount, which parameter, which parameter carries a personal API token, what a request may carry,
and what the module publishes of a district to anyone. Its routes are asked for B (B's slug in that
parameter) and for A with B's values in the URL and the parameters, by every asker, each sending its token
as the mount's key and its cookie too (which must count for nothing). Its reads answer anyone, so any
status below 500 will do; its writes into B, and B's token at A, must be refused (401, 403 or 404). A mount
without an entry in `fill.MOUNTS` fails the probe with the route's name.

Each person asks each route, method and target once, with B's values filled in: the fields of the app's
own form for that route (read from A's pages) or the OpenAPI document's parameters and body. The district
admin, nobody at all and B's token also ask with every other combination of URL values (one or two ids of
each kind, every module key, every `any()` choice) and bare. Every answer (body and headers) is searched
for B's data: every identifying value of B's rows (read as the owner, minus what A holds too), B's plain
tokens, secrets and masked phone numbers. An answer may echo what its request sent, and A's pages may show
what the probe itself wrote into A; an answer for B from a mount, or from a door that shows what a district
publishes (`fill.DOOR_PUBLISHED`: the residents' report form offers its categories and grids), may show
what B publishes there (and whatever that contains); nothing else of B may appear. The probe also makes
sure a mount really answered for B with some of what B publishes, so the search was not vacuous. Reads
run before writes, so they see A as built. After each write that got through, B's rows (read as the owner)
must be as before, and after every write B's staged import (a file waiting for its confirmation) must
still be there. Never a 500.

A district's doors (`TENANT_DOORS`: sign in, ask for a phone code, the welcome page, the residents' report
form and tracking page) answer strangers by design; they are probed first, with the same data search,
before B's rows are snapshotted (asking for a phone code writes one). Routes that hold no district data and
answer anyone are listed in `PUBLIC_ROUTES` with the reason; that list is kept small. A URL variable the
fillers (fill.py) cannot fill fails the probe with the route's name.

The probe runs on SQLite and on PostgreSQL, and once more on PostgreSQL with the application's own scoping
switched off (`TENANT_FILTER_DISABLED`, honoured in tests only): there row-level security alone must hold
the line. In that run, and only there, a write that PostgreSQL refuses with its row-level security policy
may surface as an error (the database holding the line); every other check stays the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import re
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import AnyConverter, IntegerConverter, Rule
from werkzeug.routing.exceptions import RequestRedirect

from saas.schemas import mask_phone
from tenants.models import OrgUnit
from tests.probe import fill
from tests.probe.fill import District, Identity, World

# routes that answer anyone and hold no district's data; each says why
PUBLIC_ROUTES: dict[str, str] = {
    "static": "files shipped with the app",
    "shell.landing": "the list of districts (slug and name only) from which a citizen finds theirs",
    "shell.healthz": "liveness for the load balancer: says 'ok' and nothing else",
    "shell.readyz": "readiness for the load balancer: the database and Redis checks, no district named",
    "api-docs.openapi_json": "the public API description: routes and schemas, no rows",
    "api-docs.openapi_swagger_ui": "the interactive page around that description",
    "platform.login": "the platform operator's sign-in form, outside every district",
}
# a district's doors: they answer strangers by design, so they are probed for B's data but not for a refusal
TENANT_DOORS: dict[str, str] = {
    "shell.home": "the welcome page for strangers (the dashboard for the district's own people)",
    "auth.login": "staff sign in here",
    "auth.logout": "signing out needs no one signed in",
    "auth.citizen": "a resident asks for a phone code",
    "auth.citizen_verify": "a resident enters the phone code",
    "passwords.forgot": "staff who forgot their password ask for a phone code (the same answer for any number)",
    "passwords.reset": "they enter the code and a new password",
    "passwords.open_link": "a one-time set-password link from an SMS (a dead link answers 410)",
    "passwords.set_password": "the page that link opens, for whoever opened it in this browser",
    # grid cases' residents' side: the district's report form (a contact card's QR code leads there)
    "grid_cases.report": "anyone reports a problem: the form offers the district's categories and grids",
    "grid_cases.report_code": "the report form asks for a phone code",
    "grid_cases.track": "follow a case by its number: it leads to the residents' sign-in",
    # cadre evaluation's public side: the campaigns past their draft, their targets (评议对象公示), the rating form
    "cadre_evaluation.public_list": "the district's campaigns open to rating or done",
    "cadre_evaluation.public": "a campaign's public page: its targets, the rating form, results once published",
    "cadre_evaluation.send_code": "the rating form asks for a phone code",
    "cadre_evaluation.rate": "anyone with a verified phone rates",
    "cadre_evaluation.receipt": "a rater checks a receipt code: counted or not, nothing else",
    "cadre_evaluation.seat": "a seat's QR code opens the rating form (or says the code is spent or unknown)",
    "cadre_evaluation.rate_seat": "a rater at a seat rates with a verified phone",
    "cadre_evaluation.invited": "an invitation opens the rating form for the invited person",
    "cadre_evaluation.rate_invited": "the invited person rates with the invitation",
    "cadre_evaluation.public_targets": "a campaign's published target list (评议对象公示) with photos",
    "cadre_evaluation.public_photo": "a published target's photo",
    "cadre_evaluation.public_results": "a campaign's results once the organiser publishes them (评后公示)",
    # elderly visits: a neighbour reports an elderly resident's emergency from the grid's contact card
    "elderly_visits.neighbour_emergency": "anyone reports an elderly neighbour's emergency: the form offers the grids",
    "elderly_visits.neighbour_code": "the neighbour's report asks for a phone code",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
REDIRECTS = {301, 302, 303, 307, 308}


@dataclasses.dataclass
class Probe:
    endpoint: str
    method: str
    path: str
    target: str  # "B": B's URL; "A": A's URL carrying B's values; "global": a URL of no district
    who: Identity
    variant: str  # "bare", or "filled" with B's values in query and body
    api: bool
    query: dict[str, Any] | None = None
    form: dict[str, Any] | None = None  # bytes values are uploaded as files
    json_body: Any = None
    id_in_url: bool = False
    door: bool = False
    mount: str | None = None  # the prefix of the module's mount this route belongs to (it names the district)

    def label(self) -> str:
        return f"{self.method} {self.path} as {self.who.name} ({self.variant})"

    def sent(self) -> set[str]:
        parts = [self.path, *self.path.split("/"), *fill.leaves_sent(self.query), *fill.leaves_sent(self.form),
                 *fill.leaves_sent(self.json_body)]
        # a phone number sent comes back masked in lists: that is still the sender's own value
        return {p for p in parts if p} | {mask_phone(p) for p in parts if re.fullmatch(r"1\d{10}", p)}


@dataclasses.dataclass
class Answer:
    status: int = 0
    text: str = ""
    location: str = ""
    error: BaseException | None = None


# --- planning -------------------------------------------------------------------------------------


def _openapi_path(rule: Rule) -> str:
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _type(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return kind


def _is_file(prop: dict[str, Any]) -> bool:
    return prop.get("format") == "binary" or (prop.get("items") or {}).get("format") == "binary"


def api_variant(world: World, spec: dict[str, Any], rule: Rule, method: str) -> dict[str, Any] | None:
    """Query and body of the OpenAPI operation, every field filled with B's values."""
    op = spec.get("paths", {}).get(_openapi_path(rule), {}).get(method.lower())
    if op is None:
        return None
    b, endpoint = world.b, rule.endpoint
    query = {p["name"]: fill.field_value(b, p["name"], endpoint, _type(p.get("schema", {})))
             for p in op.get("parameters", []) if p.get("in") == "query"}
    out: dict[str, Any] = {"query": query or None}
    content = op.get("requestBody", {}).get("content", {})
    for mimetype, media in content.items():
        schema = _resolve(spec, media.get("schema", {}))
        props = {k: _resolve(spec, v) for k, v in schema.get("properties", {}).items() if not v.get("readOnly")}
        values = {k: fill.field_value(b, k, endpoint, _type(v)) for k, v in props.items()
                  if not _is_file(v)}
        if mimetype == "application/json":
            out["json_body"] = values
        else:
            form = {k: fill.as_form(v) for k, v in values.items()}
            files = [k for k, v in props.items() if _is_file(v)]
            form.update({k: fill.csv_upload(fill.sample(b, endpoint)) for k in files})
            out["form"] = form
    return out if any(out.values()) else None


def page_variant(world: World, forms: dict[tuple[str, str], dict[str, str]], rule: Rule,
                 method: str) -> dict[str, Any] | None:
    """The fields of the app's own form for this route (or, with no form found, every field the fillers
    know), filled with B's values; file inputs get a CSV of the same values."""
    b, endpoint = world.b, rule.endpoint
    fields = forms.get((method, endpoint))
    if fields is None:
        if method == "GET":
            return None
        fields = dict.fromkeys(fill.SAMPLE_FIELDS, "text") | {"file": "file"}
    values: dict[str, Any] = {k: fill.as_form(fill.field_value(b, k, endpoint)) for k, kind in fields.items()
                              if k not in fill.SKIP_FIELDS and kind != "file"}
    if method == "GET":
        return {"query": values} if values else None
    values |= {k: fill.csv_upload(fill.sample(b, endpoint)) for k, kind in fields.items() if kind == "file"}
    return {"form": values} if values else None


def url_values(b: District, rule: Rule) -> tuple[dict[str, list[Any]], set[str], list[str]]:
    """Candidates for each variable of the rule but `tenant`; the names holding B's ids; the names nothing fills."""
    values: dict[str, list[Any]] = {}
    id_vars: set[str] = set()
    missing: list[str] = []
    for name in sorted(rule.arguments - {"tenant"}):
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)
            continue
        filler = fill.filler_for(name)
        if isinstance(converter, IntegerConverter):
            id_vars.add(name)
            filler = filler or fill.row_ids()
        found = filler(b, name, rule.endpoint) if filler else []
        if found:
            values[name] = found
        else:
            missing.append(name)
    return values, id_vars, missing


# they ask with every combination of URL values and body; everyone else asks once per route, method and target
THOROUGH = {"district_admin", "anonymous", "B's token"}


def askers_for(world: World, target: str, api: bool, mount: bool = False) -> list[Identity]:
    if mount:
        # a mount's key travels as a parameter; the cookie is sent too, and must count for nothing
        people = list(world.people)
    else:
        people = [p for p in world.people if (p.token if api else p.cookie) or p.name == "anonymous"]
    if target != "B":
        # the operator is at home outside the districts and a stranger inside A: only B's URLs are of interest
        people = [p for p in people if p.name != "platform_operator"]
    if target == "A" and (api or mount):
        people.append(world.b_token)
    return people


def plan(world: World, spec: dict[str, Any], forms: dict[tuple[str, str], dict[str, str]]) -> tuple[
        list[Probe], list[str]]:
    """Every rule and method, for B's URL and A's, asked by each of A's people.

    Each person asks every route, method and target at least once, with B's values filled in (and the
    filled body when there is one); the district admin, nobody at all and B's token also ask with every
    other combination of URL values (one id of each kind, each module key, each `any()` choice) and with
    the bare request. So the combinations grow with the routes' variables, not with the roles times them.
    """
    probes: list[Probe] = []
    unfillable: list[str] = []
    for rule in sorted(world.app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in PUBLIC_ROUTES:
            continue
        mounted = fill.mount_of(world.app, rule)
        if mounted is not None and mounted[1] is None:
            unfillable.append(f"{rule.endpoint} ({rule.rule}): the probe does not know how to ask the mount "
                              f"{mounted[0]}; add it to fill.MOUNTS")
            continue
        values, id_vars, missing = url_values(world.b, rule)
        if missing:
            unfillable.append(f"{rule.endpoint} ({rule.rule}): nothing fills <{'>, <'.join(missing)}>")
            continue
        api = rule.rule.startswith("/api/")
        names = sorted(values)
        combos = [dict(zip(names, vals, strict=True)) for vals in itertools.product(*(values[n] for n in names))]
        targets = ("B", "A") if "tenant" in rule.arguments or mounted is not None else ("global",)
        for method, target in itertools.product(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}), targets):
            if mounted is not None:
                filled = {"params": fill.mount_params(world.b, mounted[1], rule.endpoint)}  # type: ignore[arg-type]
            else:
                filled = api_variant(world, spec, rule, method) if api else page_variant(world, forms, rule, method)
            variants = [*([("filled", filled)] if filled else []), ("bare", {})]
            for n, who in enumerate(askers_for(world, target, api, mounted is not None)):
                if who.name in THOROUGH:
                    asks = list(itertools.product(combos, variants))
                else:
                    asks = [(combos[n % len(combos)], variants[0])]
                for combo, (variant, body) in asks:
                    slug = {"B": world.b.slug, "A": world.a.slug}.get(target)
                    if mounted is not None:
                        probes.append(mount_probe(world, rule, method, combo, target, who, variant, body, mounted))
                        continue
                    built = rule.build({**combo, **({"tenant": slug} if slug else {})}, append_unknown=False)
                    assert built is not None, rule
                    probes.append(Probe(rule.endpoint, method, built[1], target, who, variant, api,
                                        id_in_url=target == "A" and bool(id_vars & set(combo)),
                                        door=rule.endpoint in TENANT_DOORS, **body))
    return probes, unfillable


def mount_probe(world: World, rule: Rule, method: str, combo: dict[str, Any], target: str, who: Identity,
                variant: str, body: dict[str, Any], mounted: tuple[str, fill.MountWay]) -> Probe:
    """A route of a mount: the district named by its parameter (B's, or A's with B's values), the asker's
    token (if any) as the mount's key in the form of anything but a GET (a key in a URL is refused before
    anything is read, tests/blueprints/grid_cases/test_open311.py); the parameters in the query of a GET."""
    prefix, way = mounted
    built = rule.build(combo, append_unknown=False)
    assert built is not None, rule
    params = {**body.get("params", {}), way.tenant_param: world.b.slug if target == "B" else world.a.slug}
    if way.token_param and who.token and method != "GET":
        params[way.token_param] = who.token
    where = {"query": params} if method == "GET" else {"form": params}
    return Probe(rule.endpoint, method, built[1], target, who, variant, False, mount=prefix, **where)


def discover_forms(world: World, client: Any) -> dict[tuple[str, str], dict[str, str]]:
    """The fields of every form on A's pages, by the route they post to, as A's district admin sees them."""
    admin = next(p for p in world.people if p.name == "district_admin")
    adapter = world.app.url_map.bind("localhost")
    forms: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for rule in world.app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith("/api/") or rule.arguments - {"tenant"}:
            continue
        if rule.endpoint in PUBLIC_ROUTES and rule.endpoint != "platform.login":
            continue
        built = rule.build({"tenant": world.a.slug} if "tenant" in rule.arguments else {}, append_unknown=False)
        assert built is not None
        response = client.get(built[1], headers={"Cookie": f"session={admin.cookie}"})
        if "html" not in response.content_type:
            continue
        for method, path, fields in fill.forms_of(response.get_data(as_text=True), built[1]):
            try:
                endpoint, _args = adapter.match(path, method=method)
            except (HTTPException, RequestRedirect):
                continue
            forms[(method, endpoint)].update(fields)
    return dict(forms)


# --- asking and judging ---------------------------------------------------------------------------


def ask(client: Any, world: World, probe: Probe) -> Answer:
    headers: dict[str, str] = {}
    if probe.api and probe.who.token:
        headers["Authorization"] = f"Bearer {probe.who.token}"
    if not probe.api and probe.who.cookie:
        headers["Cookie"] = f"{world.app.config['SESSION_COOKIE_NAME']}={probe.who.cookie}"
    if probe.variant == "filled" and not probe.api and probe.mount is None:
        headers["HX-Request"] = "true"
    kwargs: dict[str, Any] = {"headers": headers, "query_string": probe.query}
    if probe.form is not None:
        kwargs["data"] = {k: (io.BytesIO(v), "probe.csv", "text/csv") if isinstance(v, bytes) else v
                          for k, v in probe.form.items()}
    if probe.json_body is not None:
        kwargs["json"] = probe.json_body
    try:
        response = client.open(probe.path, method=probe.method, **kwargs)
    except Exception as err:
        return Answer(error=err)
    raw = response.get_data().decode("utf-8", "replace")
    text = [raw]
    if response.is_json:
        with contextlib.suppress(ValueError):
            text.append(json.dumps(json.loads(raw), ensure_ascii=False))
    location = response.headers.get("Location", "")
    text += [unquote(v) for k, v in response.headers.items() if k.lower() != "set-cookie"]
    return Answer(response.status_code, "\n".join(text), location)


def is_rls_refusal(error: BaseException) -> bool:
    return isinstance(error, sa.exc.DBAPIError) and "row-level security" in str(error.orig)


def _login_redirect(answer: Answer, slug: str) -> bool:
    """A redirect to one of the district's sign-in pages: staff's, or the residents' phone code."""
    return answer.status in REDIRECTS and urlsplit(answer.location).path in (f"/t/{slug}/login", f"/t/{slug}/citizen")


def judge_status(world: World, probe: Probe, answer: Answer) -> str | None:
    status = answer.status
    if status >= 500:
        return f"answered {status}"
    if probe.door:
        return None
    if probe.mount is not None:
        # a mount's reads answer anyone (the data search judges what they say); its writes into B are refused
        if probe.method in WRITE_METHODS and (probe.target == "B" or probe.who is world.b_token):
            return None if status in (401, 403, 404) else f"answered {status} to a write into B, expected a refusal"
        return None
    if probe.target == "B":
        if status in (401, 403, 404) or _login_redirect(answer, world.b.slug):
            return None
        return f"answered {status} {answer.location}".rstrip() + ", expected 401/403/404 or B's sign-in page"
    if probe.target == "global":
        return None if status in (*REDIRECTS, 401, 403, 404) else f"answered {status}, expected a refusal"
    if probe.who is world.b_token and status not in (401, 403, 404):
        return f"answered {status} to B's token, expected 401"
    if probe.id_in_url and status not in (401, 403, 404, 422) and not _login_redirect(answer, world.a.slug):
        return f"answered {status} with an id of B in the URL, expected 403/404"
    return None


@dataclasses.dataclass
class Run:
    world: World
    rls_only: bool = False
    failures: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    sent_to_a: set[str] = dataclasses.field(default_factory=set)
    a_strings: set[str] | None = None
    b_rows: dict[str, list[str]] | None = None
    pending: set[str] | None = None
    requests: int = 0
    statuses: Counter[str] = dataclasses.field(default_factory=Counter)

    def __post_init__(self) -> None:
        b = self.world.b
        self.needles = {
            "B": _pattern(b.private),  # B's slug and name are on its own pages and its public landing entry
            "A": _pattern(b.private | b.public),
            "global": _pattern(b.private),
        }
        # a mount, and a door that shows what the district publishes, answer anyone with that and nothing
        # else of B (by mount prefix or door endpoint)
        self.published: dict[str, tuple[re.Pattern[str], set[str]]] = {}
        self.published_seen: dict[str, set[str]] = defaultdict(set)
        rows = self.world.rows(b.tenant_id)
        ways = {**{k: w.published for k, w in mounts_in(self.world.app).items()}, **fill.DOOR_PUBLISHED}
        for key, published_of in ways.items():
            published = published_of(rows) & b.private
            self.published[key] = (_pattern(b.private - published), published)

    def fail(self, probe: Probe, problem: str) -> None:
        self.failures[probe.endpoint].append(f"{probe.label()}: {problem}")

    def probe(self, client: Any, p: Probe) -> None:
        sent = p.sent()
        if p.target == "A":
            self.sent_to_a |= sent
        answer = ask(client, self.world, p)
        self.requests += 1
        self.statuses[f"{p.target}:{type(answer.error).__name__ if answer.error else answer.status}"] += 1
        if answer.error is not None:
            if not (self.rls_only and is_rls_refusal(answer.error)):
                self.fail(p, f"raised {type(answer.error).__name__}: {str(answer.error)[:300]}")
        else:
            problem = judge_status(self.world, p, answer)
            if problem:
                self.fail(p, problem)
            leaked = self.leaks(p, answer, sent)
            if leaked:
                self.fail(p, f"answered {answer.status} with B's data {sorted(leaked)[:5]}")
        if p.method in WRITE_METHODS and self.pending is not None and self.world.pending() != self.pending:
            self.fail(p, f"took or threw away B's staged import(s) {sorted(self.pending - self.world.pending())}")
            self.world.restage()
        if p.method in WRITE_METHODS and (answer.error is not None or answer.status < 400):
            if p.target == "A":
                self.restore_a()
            # a refusal rolls back (saas.errors) and a redirect to a sign-in page ran no view: the rows are
            # compared after the writes that got through, and once more at the end for everything else
            if not (_login_redirect(answer, self.world.a.slug) or _login_redirect(answer, self.world.b.slug)):
                self.check_b(p)

    def leaks(self, p: Probe, answer: Answer, sent: set[str]) -> set[str]:
        key = p.mount or (p.endpoint if p.door else None)
        if key in self.published and p.target == "B":
            needles, published = self.published[key]
            self.published_seen[key] |= {v for v in published if v in answer.text}
            found = set(needles.findall(answer.text)) if answer.text else set()
            # what the mount publishes may appear, with whatever it contains
            return {n for n in found if not any(n in s for s in sent) and not any(n in v for v in published)}
        found = set(self.needles[p.target].findall(answer.text)) if answer.text else set()
        found = {n for n in found if not any(n in s for s in sent)}
        if found and p.target == "A":
            # A's people may have written B's values into A themselves (the probe's own writes): A's data now
            if self.a_strings is None:
                self.a_strings = self.world.strings(self.world.a.tenant_id)
            found = {n for n in found
                     if not (any(n in s for s in self.sent_to_a) and any(n in s for s in self.a_strings))}
        return found

    def restore_a(self) -> None:
        """Keep A's modules on, so a probe that switched one off does not hide the module's routes from the rest."""
        self.a_strings = None
        with self.world.owner.begin() as conn:
            conn.execute(sa.text("UPDATE module_switches SET enabled = :on WHERE tenant_id = :t"),
                         {"on": True, "t": self.world.a.tenant_id})

    def check_b(self, p: Probe | None) -> None:
        if self.b_rows is None:
            return
        now = self.world.snapshot(self.world.b.tenant_id)
        if now != self.b_rows:
            changed = sorted(t for t in set(now) | set(self.b_rows) if now.get(t) != self.b_rows.get(t))
            where = p.label() if p else "a request that does not write"
            self.failures[p.endpoint if p else "(unknown)"].append(f"{where}: changed B's rows in {changed}")
            self.b_rows = now

    def summary(self) -> str:
        return f"probe: {self.requests} requests; answers by target: {dict(sorted(self.statuses.items()))}"

    def report(self) -> str:
        lines = [f"{len(self.failures)} route(s) let something of district B through:"]
        for endpoint, problems in sorted(self.failures.items()):
            lines.append(f"  {endpoint}: {len(problems)} problem(s)")
            lines += [f"    {x}" for x in problems[:4]]
        return "\n".join(lines)


def _pattern(values: set[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def mounts_in(app: Flask) -> dict[str, fill.MountWay]:
    """The mounts of the app's modules that the probe knows how to ask (the rest fail the plan)."""
    prefixes = {m.url_prefix.rstrip("/") for spec in app.extensions["saas.modules"] for m in spec.mounts}
    return {p: way for p, way in fill.MOUNTS.items() if p in prefixes}


def check_identities(world: World, client: Any) -> None:
    """Each of A's people is really signed in at A, or the probe would pass for want of asking anything."""
    for who in world.people:
        if who.cookie and who.name != "platform_operator":
            response = client.get(f"/t/{world.a.slug}/inbox", headers={"Cookie": f"session={who.cookie}"})
            assert response.status_code == 200, f"{who.name} is not signed in at A ({response.status_code})"
        if who.token:
            response = client.get(f"/api/v1/t/{world.a.slug}/me", headers={"Authorization": f"Bearer {who.token}"})
            assert response.status_code == 200, f"{who.name}'s token is refused at A ({response.status_code})"


def probe_every_route(app: Flask, *, rls_only: bool = False) -> Run:
    """Build the two districts, plan, then ask: B's doors, then every read, then every write."""
    world = fill.build_world(app)
    try:
        client = app.test_client(use_cookies=False)
        check_identities(world, client)
        spec = client.get("/api/openapi.json").get_json()
        probes, unfillable = plan(world, spec, discover_forms(world, client))
        assert not unfillable, "the probe cannot fill these routes; add a filler in tests/probe/fill.py:\n  " + \
            "\n  ".join(unfillable)
        run = Run(world, rls_only=rls_only)
        doors = [p for p in probes if p.door and p.target == "B"]
        for p in doors:
            run.probe(client, p)
        run.b_rows, run.pending = world.snapshot(world.b.tenant_id), world.pending()
        assert run.pending == set(world.staged), "B's staged import is gone before the probe began"
        # reads first, while A holds nothing the probe wrote into it
        rest = sorted((p for p in probes if not (p.door and p.target == "B")), key=lambda p: p.method in WRITE_METHODS)
        for p in rest:
            run.probe(client, p)
        run.check_b(None)
        assert run.requests == len(probes)
        for prefix in mounts_in(app):
            # the mount really answered for B: the search for B's private data was not vacuous
            assert run.published_seen[prefix], f"{prefix} never showed anything B publishes"
        print(run.summary())
        return run
    finally:
        world.close()


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.timeout(1500)  # every route × every identity × B's values: minutes, more on a loaded machine
def test_no_route_of_district_b_answers_anyone_of_district_a(app):
    run = probe_every_route(app)
    if run.failures:
        pytest.fail(run.report(), pytrace=False)


@pytest.mark.config(TENANT_FILTER_DISABLED=True)
def test_row_level_security_alone_holds_the_line(pg_app):
    run = probe_every_route(pg_app, rls_only=True)
    if run.failures:
        pytest.fail(run.report(), pytrace=False)


@pytest.mark.one_backend
def test_the_probe_covers_every_route_and_role(app):
    """Every route is either probed or public with a reason, and every role of the RoleBook asks."""
    world = fill.build_world(app)
    try:
        client = app.test_client(use_cookies=False)
        probes, unfillable = plan(world, client.get("/api/openapi.json").get_json(), {})
        b_rows = world.rows(world.b.tenant_id)
    finally:
        world.close()
    assert not unfillable
    # a mount's routes name the district by their parameter: each asked for B, and for A with B's values
    for prefix, way in mounts_in(app).items():
        asked = [p for p in probes if p.mount == prefix]
        assert {p.target for p in asked} == {"B", "A"}
        assert {(p.query or p.form or {}).get(way.tenant_param) for p in asked} == {"alpha", "beta"}
        assert any(p.form and p.form.get(way.token_param) == world.a.tokens[0] for p in asked if p.target == "B")
    if "/open311/v2" in mounts_in(app):
        published = fill.MOUNTS["/open311/v2"].published(b_rows)
        assert {"乙秘事件描述0", "乙秘事件描述2", "乙秘类别", "beta-cat"} <= published
        secrets = {"乙秘事件描述1", "乙秘报告人0", "乙秘报告人2", "13976548800", "乙秘人员00"}
        assert secrets <= world.b.private
        assert not secrets & published
    probed = {p.endpoint for p in probes}
    assert {r.endpoint for r in app.url_map.iter_rules()} == probed | set(PUBLIC_ROUTES)
    assert {p.who.name for p in probes} >= set(app.extensions["saas.roles"].roles) | {"anonymous", "B's token"}
    assert set(TENANT_DOORS) <= probed
    # B's data is what the probe looks for: ids, codes, names, phones and tokens, never the shared vocabulary
    b = world.b
    assert str(b.tenant_id) in b.private
    assert b.tokens[0] in b.private
    assert {"beta-street", "beta-compound", "乙秘人员00", "13976540000", "139****0000", "乙秘调休",
            "乙秘居民反映"} <= b.private
    assert not {"grid_worker", "供水", "Asia/Shanghai"} & b.private


def test_tenant_filter_switch_is_refused_outside_tests():
    from saas import create_app

    with pytest.raises(RuntimeError, match="TENANT_FILTER_DISABLED"):
        create_app({"TESTING": False, "TENANT_FILTER_DISABLED": True, "DATABASE_URL": "sqlite://", "REDIS_URL": None})


@pytest.mark.config(TENANT_FILTER_DISABLED=True)
def test_tenant_filter_switch_really_leaves_only_rls(pg_app):
    """With the switch on, the ORM adds no criteria and no longer fails closed: PostgreSQL alone answers."""
    from saas import db
    from tenants.models import User
    from tests.plugin import Factory

    factory = Factory(pg_app)
    a, b = factory.tenant("alpha", "甲区"), factory.tenant("beta", "乙区")
    factory.user(a, name="甲一")
    factory.user(b, name="乙一")
    with pg_app.app_context():
        assert db.session.scalars(sa.select(User.name)).all() == []  # no tenant set: RLS shows nothing
    executed: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        executed.append(statement)

    with factory.as_tenant(a) as s:
        engine = s.get_bind()
        sa.event.listen(engine, "before_cursor_execute", remember)
        try:
            assert set(s.scalars(sa.select(User.name))) == {"甲一"}
        finally:
            sa.event.remove(engine, "before_cursor_execute", remember)
    assert [q for q in executed if "FROM users" in q]
    assert not [q for q in executed if "FROM users" in q and "tenant_id" in q]


def test_staged_import_of_b_survives_a_confirming_or_cancelling_it(app, factory, tenant_a, tenant_b):
    """Found by the probe: A's admin sending B's staging token to A's confirm or cancel threw B's upload away."""
    client = app.test_client(use_cookies=False)
    a_admin, b_admin = factory.user(tenant_a), factory.user(tenant_b)
    cookie = {who: {"Cookie": f"session={fill._cookie(app, fill.session_data(app, u))}"}
              for who, u in (("a", a_admin), ("b", b_admin))}
    app.config["IMPORT_STAGING_DIR"] = str(fill.Path(fill.tempfile.mkdtemp(prefix="wgt-probe-imports-")))
    try:
        upload = fill.csv_upload({"kind": "street", "code": "b-s1", "name": "乙街道", "parent_code": "beta"})
        page = client.post("/t/beta/admin/import/org", data={"file": (io.BytesIO(upload), "b.csv")},
                           headers=cookie["b"]).get_data(as_text=True)
        token = re.search(r'name="token"[^>]*value="([^"]+)"', page).group(1)
        for action in ("confirm", "cancel"):
            for kind in ("org", "staff"):
                response = client.post(f"/t/alpha/admin/import/{kind}/{action}", data={"token": token},
                                       headers=cookie["a"])
                # A's confirm finds no import of A's under that token (422); A's cancel has nothing of A's to drop
                assert response.status_code == (422 if action == "confirm" else 200), (action, kind)
        response = client.post("/t/beta/admin/import/org/confirm", data={"token": token}, headers=cookie["b"])
        assert response.status_code == 200
    finally:
        fill.shutil.rmtree(app.config["IMPORT_STAGING_DIR"], ignore_errors=True)
    with factory.as_tenant(tenant_b) as s:
        assert s.scalars(sa.select(OrgUnit.code).where(OrgUnit.code == "b-s1")).one()
