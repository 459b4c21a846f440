"""Outside channels: an SMS gateway over HTTP, DingTalk and WeCom group robots, email over SMTP.

Each adapter sends one delivery with its idempotency key (an HTTP header, or the email's Message-ID)
and raises `ChannelError` when the receiver did not take it. A district's settings are validated here
when they are saved, so a malformed webhook is refused then, not discovered at 3 a.m.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import time
import urllib.parse
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import marshmallow as ma

from saas import outbound
from saas.schemas import Schema, Text

TIMEOUT = 10


class ChannelError(Exception):
    """The receiver did not take the delivery. `permanent`: trying again cannot help (the address is refused)."""

    def __init__(self, message: str, *, throttled: bool = False, permanent: bool = False):
        super().__init__(message)
        self.throttled = throttled
        self.permanent = permanent


def _url_validator(value: str) -> None:
    """An SMS gateway: http or https, never into the server's own network (`saas.outbound`)."""
    try:
        outbound.check_url(value, lookup=False)
    except outbound.OutboundRefused as err:
        raise ma.ValidationError(err.message) from None


def _robot_url_validator(value: str) -> None:
    """A DingTalk or WeCom robot: https only (unless the operator admitted the host), never internal."""
    try:
        outbound.check_url(value, https_only=True, lookup=False)
    except outbound.OutboundRefused as err:
        raise ma.ValidationError(err.message) from None


def _host_validator(value: str) -> None:
    try:
        outbound.check_host(value, 25, lookup=False)
    except outbound.OutboundRefused as err:
        raise ma.ValidationError(err.message) from None


class SmsSettings(Schema):
    url = Text(required=True, max_length=500, validate=[_url_validator])
    sign_name = Text(load_default="", max_length=20)
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


class RobotSettings(Schema):
    url = Text(required=True, max_length=500, validate=[_robot_url_validator])
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


class EmailSettings(Schema):
    host = Text(required=True, max_length=255, validate=[_host_validator])
    port = ma.fields.Integer(load_default=587, validate=ma.validate.Range(min=1, max=65535), strict=False)
    username = Text(load_default="", max_length=255)
    sender = ma.fields.Email(required=True)
    starttls = ma.fields.Boolean(load_default=True)
    secret = Text(load_default="", max_length=200, metadata={"secret": True})


SETTINGS_SCHEMAS: dict[str, type[Schema]] = {
    "sms": SmsSettings, "dingtalk": RobotSettings, "wecom": RobotSettings, "email": EmailSettings,
}


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str], *, https_only: bool = False
               ) -> dict[str, Any]:
    """POST through the kernel's judge of outbound addresses: the address is judged again now, since a name
    may resolve elsewhere than when it was saved; a refused one fails the delivery and no request is made."""
    try:
        return outbound.post_json(url, payload, headers, timeout=TIMEOUT, https_only=https_only)
    except outbound.OutboundRefused as err:
        raise ChannelError(err.reason, permanent=err.permanent) from None
    except outbound.OutboundError as err:
        raise ChannelError(str(err), throttled=err.status == 429) from None


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
            "title": delivery.title, "text": f"### {delivery.title}\n\n{delivery.body}"}}, headers, https_only=True)
        if answer.get("errcode", 0) != 0:
            raise ChannelError(f"DingTalk errcode {answer.get('errcode')}: {answer.get('errmsg', '')}",
                               throttled=answer.get("errcode") == 130101)
    elif channel == "wecom":
        answer = _post_json(settings["url"], {"msgtype": "markdown", "markdown": {
            "content": f"**{delivery.title}**\n{delivery.body}"}}, headers, https_only=True)
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
        with outbound.smtp_connection(settings["host"], int(settings.get("port") or 25), timeout=TIMEOUT) as smtp:
            if settings.get("starttls"):
                smtp.starttls()
            if settings.get("username") and secret:
                smtp.login(settings["username"], secret)
            smtp.send_message(message)
    except outbound.OutboundRefused as err:
        raise ChannelError(err.reason, permanent=err.permanent) from None
    except (smtplib.SMTPException, OSError) as err:
        raise ChannelError(f"SMTP: {type(err).__name__}: {err}") from None
