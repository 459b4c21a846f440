"""Where the server may send a request: the one judge of outbound addresses (against SSRF).

A district admin types the addresses of the SMS gateway and the group robots; the workers then post there
with the gateway's bearer secret and residents' phone codes. Without a judge, an admin (or whoever took over
an admin's account) could point them at `127.0.0.1:6379`, `169.254.169.254` or `[::1]:5432` and make the
server talk to its own network. So every outbound address is judged here, twice:

- when it is saved (`check_url`, `check_host`): a literal address, or a name that resolves now, into the
  server's own network is refused with a message the admin reads; nothing is saved. A name that does not
  resolve at all is accepted (DNS may be down, or differ between web and worker) and judged at delivery;
- when a delivery is made (`post_json`, `smtp_connection`): the name is resolved again (it may resolve
  elsewhere since), every address is judged, and the connection goes to the address that was judged, so a
  second lookup cannot swap it (DNS rebinding). A refused address fails the delivery with the reason; no
  request is made. Redirects are never followed.

Refused: loopback, private (RFC 1918, unique-local IPv6), link-local (the cloud metadata at 169.254.169.254),
multicast, reserved, unspecified, shared (100.64/10) and any other non-global address, also when wrapped as an
IPv4-mapped or 6to4 IPv6 address. Only `http` and `https` are spoken; robots take `https` only.

The operator (never a district) may admit hosts or networks in `OUTBOUND_ALLOW` (app config or environment:
names or CIDRs, separated by commas or spaces, e.g. `sms-gw.intranet, 10.8.0.0/16`): an intranet SMS gateway.
The host of the platform's own SMS gateway (`PLATFORM_SMS_URL`) is admitted likewise. An admitted host may also
be reached over plain `http`, robots included, since the operator vouched for it.
"""

from __future__ import annotations

import dataclasses
import http.client
import ipaddress
import json
import smtplib
import socket
import ssl
import urllib.parse
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRefused(ValueError):
    """An address the server may not send to; `message` is for the person, `reason` for the log."""

    def __init__(self, message: str, reason: str, *, permanent: bool = True):
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.permanent = permanent  # False: it depends on what a name resolves to now, which may change


@dataclasses.dataclass(frozen=True)
class Allowlist:
    """The operator's admitted hosts (lower-case names) and networks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> Allowlist:
        items = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
        hosts, networks = set(), []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_host_name(item))
        return cls(frozenset(hosts), tuple(networks))

    def admits_host(self, host: str) -> bool:
        return _host_name(host) in self.hosts

    def admits_address(self, address: IpAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


def configured_allowlist() -> Allowlist:
    """The operator's allowlist from the app's configuration: `OUTBOUND_ALLOW`, and the host of the platform's own
    SMS gateway (`PLATFORM_SMS_URL`), which the operator configured too; empty outside an app."""
    if not has_app_context():
        return Allowlist()
    allow = Allowlist.parse(current_app.config.get("OUTBOUND_ALLOW"))
    platform_host = urllib.parse.urlsplit(current_app.config.get("PLATFORM_SMS_URL") or "").hostname
    if platform_host:
        admitted = Allowlist.parse([platform_host])
        allow = Allowlist(allow.hosts | admitted.hosts, allow.networks + admitted.networks)
    return allow


def _host_name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _unwrapped(address: IpAddress) -> IpAddress:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002::/16) IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return inner
    return address


def forbidden_kind(address: IpAddress) -> str | None:
    """What makes `address` internal ("loopback", "private", ...), or None for a public address."""
    address = _unwrapped(address)
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "private"
    if not address.is_global:
        return "reserved"  # shared address space (100.64/10), benchmarking and documentation ranges
    return None


def _refused_address(host: str, address: IpAddress, kind: str, *, resolved: bool) -> OutboundRefused:
    shown = host if str(address) == _host_name(host) else f"{host} → {address}"
    return OutboundRefused(
        _("This address leads into the server's own network (%(address)s): outside channels may only reach "
          "public addresses.", address=shown),
        f"refused: {shown} is a {kind.replace('_', '-')} address", permanent=not resolved)


def resolve(host: str, port: int, allow: Allowlist, *, lookup: bool = True) -> list[IpAddress]:
    """Every address `host` stands for, each judged; OutboundRefused for the first internal one.

    An admitted host (by name) is not judged. With `lookup=False` a name that does not resolve gives [],
    otherwise OutboundRefused (not permanent: the name may resolve later)."""
    name = _host_name(host)
    try:
        literal: IpAddress | None = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            if not lookup:
                return []
            raise OutboundRefused(_("The host name %(host)s cannot be resolved.", host=host),
                                  f"cannot resolve {host}", permanent=False) from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if allow.admits_host(name):
        return addresses
    for address in addresses:
        kind = forbidden_kind(address)
        if kind is not None and not allow.admits_address(_unwrapped(address)) and not allow.admits_address(address):
            raise _refused_address(host, address, kind, resolved=literal is None)
    return addresses


@dataclasses.dataclass(frozen=True)
class Target:
    """A judged URL: its parts and the addresses the connection may go to."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[IpAddress, ...]


def check_url(url: str, *, https_only: bool = False, allow: Allowlist | None = None, lookup: bool = True) -> Target:
    """Judge an outbound URL; OutboundRefused with a message for the person when the server may not go there.

    `lookup=False` is the judgement at save time: a name that does not resolve passes (judged at delivery)."""
    allow = configured_allowlist() if allow is None else allow
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        raise OutboundRefused(_("Enter a full web address starting with https://."), "not an http(s) URL")
    host = parts.hostname
    if https_only and parts.scheme != "https" and not _admitted(host, allow):
        raise OutboundRefused(_("Enter a full web address starting with https://."), "plain http refused")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port, allow, lookup=lookup)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, tuple(addresses))


def _admitted(host: str, allow: Allowlist) -> bool:
    if allow.admits_host(host):
        return True
    try:
        return allow.admits_address(ipaddress.ip_address(_host_name(host)))
    except ValueError:
        return False


def check_host(host: str, port: int, *, allow: Allowlist | None = None, lookup: bool = True) -> list[IpAddress]:
    """Judge a bare host (an SMTP server) the same way as a URL's."""
    allow = configured_allowlist() if allow is None else allow
    if not host or any(c in host for c in "/@?# "):
        raise OutboundRefused(_("Enter a host name such as smtp.example.com."), "not a host name")
    return resolve(host, port, allow, lookup=lookup)


# --- making the request -------------------------------------------------------------------------------


class OutboundError(Exception):
    """The request was made and failed: `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _pinned(addresses: tuple[IpAddress, ...]) -> Any:
    """A `socket.create_connection` that goes to the judged addresses, whatever host it is asked for."""

    def create_connection(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        error: OSError | None = None
        for ip in addresses:
            try:
                return socket.create_connection((str(ip), address[1]), timeout, source_address)
            except OSError as err:
                error = err
        raise error or OSError("no address to connect to")

    return create_connection


def post_json(url: str, payload: dict[str, Any], headers: dict[str, str], *, timeout: float, https_only: bool = False,
              allow: Allowlist | None = None) -> dict[str, Any]:
    """POST `payload` as JSON to a judged URL; the answer's JSON ({} when it has none).

    OutboundRefused when the URL is not allowed now (no request is made), OutboundError when it failed."""
    target = check_url(url, https_only=https_only, allow=allow)
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    # http.client's one seam for the socket: the TLS handshake still names (and verifies) the host
    conn._create_connection = _pinned(target.addresses)  # type: ignore[attr-defined]
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        conn.request("POST", target.path, body=body,
                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as err:
        raise OutboundError(f"{type(err).__name__}: {err}") from None
    finally:
        conn.close()
    if not 200 <= response.status < 300:  # a redirect is not followed: it could lead anywhere
        raise OutboundError(f"HTTP {response.status}", response.status)
    try:
        answer = json.loads(data or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to the judged addresses; STARTTLS still verifies the host's name."""

    def __init__(self, host: str, port: int, addresses: list[IpAddress], timeout: float):
        self._addresses = tuple(addresses)
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return _pinned(self._addresses)((host, port), timeout, self.source_address)


def smtp_connection(host: str, port: int, *, timeout: float, allow: Allowlist | None = None) -> smtplib.SMTP:
    """An SMTP connection to a judged host (OutboundRefused when it is internal and not admitted)."""
    addresses = check_host(host, port, allow=allow)
    return _PinnedSMTP(host, port, addresses, timeout)


__all__ = ["Allowlist", "OutboundError", "OutboundRefused", "Target", "check_host", "check_url",
           "configured_allowlist", "forbidden_kind", "post_json", "resolve", "smtp_connection"]
