"""Secrets at rest (gateway keys, robot signing secrets, SMTP passwords): Fernet, never shown back in full."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    key = current_app.config.get("SECRETS_KEY")
    if not key:
        # derived from SECRET_KEY so the embedded default needs no second key; production sets SECRETS_KEY
        digest = hashlib.sha256(b"wanggetong-secrets:" + current_app.config["SECRET_KEY"].encode()).digest()
        key = base64.urlsafe_b64encode(digest)
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def masked(plain: str | None) -> str:
    """What a page may show of a secret: that it is set, and its last four characters."""
    if not plain:
        return ""
    return "••••" + plain[-4:] if len(plain) > 8 else "••••"
