"""Outside channels: an SMS gateway over HTTP, DingTalk and WeCom group robots, email over SMTP.

Each adapter sends one delivery with its idempotency key (an HTTP header, or the email's Message-ID)
and raises `ChannelError` when the receiver did not take it. A district's settings are validated here
when they are saved, so a malformed webhook is refused then, not discovered at 3 a.m.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _

from saas.schemas import Schema, Text

TIMEOUT = 10


class ChannelError(Exception):
    def __init__(self, message: str, *, throttled: bool = False):
        super().__init__(message)
        self.throttled = throttled


def _url_validator(value: str) -> None:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ma.ValidationError(_("Enter a full web address starting with https://."))


class SmsSettings(Schema):
    url = Text(required=True, max_length=500, validate=[_url_validator])
    sign_name = Text(load_default="", max_length=20)
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


class RobotSettings(Schema):
    url = Text(required=True, max_length=500, validate=[_url_validator])
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


class EmailSettings(Schema):
    host = Text(required=True, max_length=255)
    port = ma.fields.Integer(load_default=587, validate=ma.validate.Range(min=1, max=65535), strict=False)
    username = Text(load_default="", max_length=255)
    sender = ma.fields.Email(required=True)
    starttls = ma.fields.Boolean(load_default=True)
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


SETTINGS_SCHEMAS: dict[str, type[Schema]] = {
    "sms": SmsSettings, "dingtalk": RobotSettings, "wecom": RobotSettings, "email": EmailSettings,
}


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked when the settings are saved
        url, data=json.dumps(payload, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as err:
        raise ChannelError(f"HTTP {err.code}", throttled=err.code == 429) from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise ChannelError(f"{type(err).__name__}: {err}") from None
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {}


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk's robot signature: HMAC-SHA256 of "timestamp\\nsecret", base64, in the query string."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def send(channel: str, settings: dict[str, Any], secret: str | None, delivery: Any) -> None:
    headers = {"Idempotency-Key": delivery.idempotency_key}
    text = f"{delivery.title}\n{delivery.body}".strip()
    if channel == "sms":
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        sign = settings.get("sign_name") or ""
        _post_json(settings["url"], {"phone": delivery.address, "text": f"【{sign}】{text}" if sign else text,
                                     "idempotency_key": delivery.idempotency_key}, headers)
    elif channel == "dingtalk":
        url = dingtalk_signed_url(settings["url"], secret) if secret else settings["url"]
        answer = _post_json(url, {"msgtype": "markdown", "markdown": {
            "title": delivery.title, "text": f"### {delivery.title}\n\n{delivery.body}"}}, headers)
        if answer.get("errcode", 0) != 0:
            raise ChannelError(f"DingTalk errcode {answer.get('errcode')}: {answer.get('errmsg', '')}",
                               throttled=answer.get("errcode") == 130101)
    elif channel == "wecom":
        answer = _post_json(settings["url"], {"msgtype": "markdown", "markdown": {
            "content": f"**{delivery.title}**\n{delivery.body}"}}, headers)
        if answer.get("errcode", 0) != 0:
            raise ChannelError(f"WeCom errcode {answer.get('errcode')}: {answer.get('errmsg', '')}",
                               throttled=answer.get("errcode") == 45009)
    elif channel == "email":
        _send_email(settings, secret, delivery)
    else:
        raise ChannelError(f"unknown channel {channel}")


def _send_email(settings: dict[str, Any], secret: str | None, delivery: Any) -> None:
    message = EmailMessage()
    message["From"] = settings["sender"]
    message["To"] = delivery.address
    message["Subject"] = delivery.title
    # the Message-ID carries the idempotency key, so a receiver can drop a second copy
    message["Message-ID"] = make_msgid(idstring=delivery.idempotency_key, domain="wanggetong")
    message.set_content(delivery.body or delivery.title)
    try:
        with smtplib.SMTP(settings["host"], int(settings.get("port") or 25), timeout=TIMEOUT) as smtp:
            if settings.get("starttls"):
                smtp.starttls()
            if settings.get("username") and secret:
                smtp.login(settings["username"], secret)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as err:
        raise ChannelError(f"SMTP: {type(err).__name__}: {err}") from None
