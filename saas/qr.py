"""QR codes for print and screen: a grid's contact card, a rating seat's single-use code, any link a module hands
to paper. Drawn with segno; nothing is fetched from outside."""

from __future__ import annotations

import io
import ipaddress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import segno
from flask import g, url_for


def public_url(endpoint: str, **values: Any) -> str:
    """The address a printed code carries: absolute, on the district's own host name when it has one."""
    url = url_for(endpoint, _external=True, **values)
    hostname = g.tenant.hostname if g.get("tenant") is not None else None
    if hostname:
        parts = urlsplit(url)
        url = urlunsplit((parts.scheme, hostname, parts.path, parts.query, ""))
    return url


def unreachable_host(url: str) -> str | None:
    """The host of a URL a resident's phone will not reach (loopback, private network, a bare name), or None."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host if host == "localhost" or host.endswith(".localhost") or "." not in host else None
    return host if not address.is_global else None


def qr_svg_data_uri(url: str) -> str:
    """The QR code as an SVG data URI: sharp at any print size, and needs no request of its own."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff")


def qr_png(url: str, scale: int = 10) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
