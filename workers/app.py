"""The app a worker process builds once and reuses for every job (jobs take ids, never objects)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask, current_app, has_app_context

_app: list[Flask] = []


def get_app() -> Flask:
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if not _app:
        from saas import create_app

        _app.append(create_app())
    return _app[0]


@contextlib.contextmanager
def app_context(app: Flask) -> Iterator[None]:
    """Enter the app's context unless already inside it: the session is per thread, and a nested
    context's teardown would close the session its caller is still using."""
    if has_app_context():
        yield
        return
    with app.app_context():
        yield
