"""Logs an operator can use: one line per request, JSON in production, readable text in the embedded default.

Each request has an id: the incoming `X-Request-ID` when it is well formed (a load balancer's or a client's),
else a new one. It goes back as the `X-Request-ID` header, onto every log line the request writes, and into the
meta of the RQ jobs it enqueues (`job_meta`), so the lines a worker writes while running them carry it too.

The request line names the method, the endpoint (the route's name, never the path: a path can hold a
set-password token or a phone number), the status, the duration in ms, the SQL statements sent (the kernel's
`db.statements` collector), the district's slug and the user's or operator's id: never a name, a phone or a
secret. The other lines keep personal data out by construction too: delivery errors are scrubbed of the text
they carried (`workers.delivery`), the engine hides SQL parameters from its errors (`saas.db.make_engine`), and a
set-password token is blotted out of a path a line names (`SecretPathFilter`). The lines are not run through
`saas.masking` as well: it would blot the 18-digit ids an operator needs, as it must blot ID numbers.

`LOG_FORMAT` chooses: `json` (the default when `REDIS_URL` is set, i.e. production) or `text`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request, request_started

from saas import db

log = logging.getLogger("saas.request")

HEADER = "X-Request-ID"
# what an incoming id may look like: a UUID, a hex digest, a load balancer's token; nothing that could forge a
# log line or smuggle markup, and not so long that it bloats every line
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def incoming_or_new(value: str | None) -> str:
    """The incoming request id when it is well formed, else a fresh one."""
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being served, or, in a worker, of the request that enqueued the running job."""
    if has_request_context():
        return g.get("request_id")
    from rq import get_current_job

    job = get_current_job()
    return job.meta.get("request_id") if job is not None else None


def job_meta(**meta: Any) -> dict[str, Any]:
    """An RQ job's meta, with the id of the request (or job) that enqueues it."""
    request_id = current_request_id()
    return {**meta, "request_id": request_id} if request_id else meta


# --- formatting -------------------------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Puts the request id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id and the record's own fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            out["request_id"] = record.request_id
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The embedded default's readable line; the request id at the end when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


def log_format(config: Any) -> str:
    """`LOG_FORMAT` when set, else JSON in production (Redis configured) and text in the embedded default."""
    return (config.get("LOG_FORMAT") or ("json" if config.get("REDIS_URL") else "text")).lower()


def configure(app: Flask) -> None:
    """The root logger's handler (stderr), its format from `LOG_FORMAT`, and the filters on every handler."""
    from saas import SecretPathFilter

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(logging.INFO)
    fmt = log_format(app.config)
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler:  # ours (or basicConfig's), not a test's capture
            handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        for kind in (SecretPathFilter, ContextFilter):
            if not any(isinstance(f, kind) for f in handler.filters):
                handler.addFilter(kind())
    if fmt == "json" and any(type(h) is logging.StreamHandler for h in root.handlers):
        # `rq worker` gave its logger text handlers of its own before the worker built this app: its lines then
        # came out twice, once as text; from here on they come out once, as JSON, through the root handler
        from rq.logutils import ColorizingStreamHandler

        rq_log = logging.getLogger("rq.worker")
        for handler in [h for h in rq_log.handlers if isinstance(h, ColorizingStreamHandler)]:
            rq_log.removeHandler(handler)


# --- the request line ---------------------------------------------------------------------------------------


def _started(app: Flask, **_kw: Any) -> None:
    g.request_id = incoming_or_new(request.headers.get(HEADER))
    g.request_started = time.perf_counter()
    g.request_statements, g.request_statements_token = db.collect_statements()


def _finished(response: Any) -> Any:
    """Runs last of the after-request functions: the status is final and the outbox kick is counted."""
    if "request_started" not in g:  # a request Flask answered before it began (none known): nothing to say
        return response
    from saas import metrics

    response.headers[HEADER] = g.request_id
    seconds = time.perf_counter() - g.request_started
    endpoint = request.endpoint or "none"
    method = request.method if request.method in _METHODS else "OTHER"
    fields = {
        "request_id": g.request_id, "method": method, "endpoint": endpoint, "status": response.status_code,
        "duration_ms": round(seconds * 1000, 1), "statements": len(g.request_statements),
        "tenant": g.tenant.slug if g.get("tenant") is not None else None,
        "user_id": g.user.id if g.get("user") is not None else None,
        "operator_id": g.operator.id if g.get("operator") is not None else None,
    }
    metrics.observe_request(endpoint, method, response.status_code, seconds, fields["statements"])
    log.info("%s %s %s %.1f ms %s statements%s%s", method, endpoint, response.status_code, fields["duration_ms"],
             fields["statements"], f" tenant={fields['tenant']}" if fields["tenant"] else "",
             f" user={fields['user_id']}" if fields["user_id"] else "", extra=fields)
    return response


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("request_statements_token", None)
    if token is not None:
        db.stop_collecting(token)


def init_app(app: Flask) -> None:
    """Call before any other after-request function is registered: this one then runs last."""
    configure(app)
    request_started.connect(_started, app)
    app.after_request(_finished)
    app.teardown_request(_teardown)
