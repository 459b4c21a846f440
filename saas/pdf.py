"""Print views as PDF, for every module (contact cards, appointment certificates, rating seat sheets).

WeasyPrint, with Debian's pango and the Noto CJK fonts (`make pdf`). The page's only outside resource is the
app's stylesheet, read from disk; pictures are data URIs, and nothing else is fetched, so no text on a page can
make the server load a URL.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app, make_response, request

_STYLESHEET: dict[str, Any] = {}
# WeasyPrint tells every step of every PDF at INFO, which the app's log level would keep
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _stylesheet() -> Any:
    """The app's stylesheet for WeasyPrint, parsed once per process and again when the file changes (WeasyPrint
    logs each screen-only rule it cannot use, and parsing is a good part of a one-page PDF)."""
    import weasyprint

    path = Path(current_app.static_folder or "") / "app.css"
    key = f"{path}:{path.stat().st_mtime_ns}"
    if _STYLESHEET.get("key") != key:
        _STYLESHEET.update(key=key, css=weasyprint.CSS(filename=str(path)))
    return _STYLESHEET["css"]


def pdf_bytes(html: str) -> bytes:
    import weasyprint

    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",))
    document = weasyprint.HTML(string=html, base_url=request.url_root, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[_stylesheet()]))


def pdf_response(html: str, filename: str, fallback: str) -> Any:
    """`html` (a print view rendered for print) as an inline PDF named `filename` in the reader's language for
    browsers that read filename*, `fallback` (ASCII: a code, a number) for the rest; both without ".pdf"."""
    response = make_response(pdf_bytes(html))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (f"inline; filename=\"{quote(fallback, safe='')}.pdf\"; "
                                               f"filename*=UTF-8''{quote(filename + '.pdf', safe='')}")
    return response
