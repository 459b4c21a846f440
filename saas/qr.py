"""QR codes for print and screen: a grid's contact card, a rating seat's single-use code, any link a module hands
to paper. Drawn with segno; nothing is fetched from outside."""

from __future__ import annotations

import io

import segno


def qr_svg_data_uri(url: str) -> str:
    """The QR code as an SVG data URI: sharp at any print size, and needs no request of its own."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark="#000", light="#fff")


def qr_png(url: str, scale: int = 10) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
