"""Proof-of-work friction against scripted submissions, needing no outside service (no captcha provider).

The server issues a challenge signed with the app's `SECRET_KEY`: a random nonce, what it is for (`purpose`,
e.g. one campaign's ballot form) and how many leading zero bits the answer's hash must have. The browser
(`static/pow.js`) counts up from 0 until SHA-256 of `"<challenge>:<counter>"` (UTF-8) starts with that many zero
bits and sends the challenge and the counter with the form; an API client does the same (`solve`). `verify`
checks the signature, the purpose, the age and the hash, and returns the nonce so the caller can spend the
challenge once (a unique key on its hash, written in the submission's transaction).

At 16 bits a browser tries about 65,000 hashes on average: a fraction of a second on a desktop, about a second
on a phone, and the same again for every scripted submission.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "saas.pow"
MAX_AGE = 30 * 60  # a challenge is good for half an hour: time enough to fill a long form


class ChallengeFailed(ValueError):
    """The challenge or its answer does not hold; the message is for the person."""


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue(purpose: str, bits: int) -> dict[str, Any]:
    """A new challenge for `purpose`: `{"challenge": ..., "bits": ...}` (the bits are also inside, signed)."""
    token = _signer().dumps({"p": purpose, "b": int(bits), "n": secrets.token_hex(12)})
    return {"challenge": token, "bits": int(bits)}


def zero_bits(digest: bytes) -> int:
    """How many leading bits of `digest` are zero."""
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def _digest(challenge: str, counter: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{counter}".encode()).digest()


def solve(challenge: str, bits: int) -> str:
    """The smallest counter that answers the challenge (what the browser computes; for API clients and tests)."""
    counter = 0
    while zero_bits(_digest(challenge, str(counter))) < bits:
        counter += 1
    return str(counter)


def verify(challenge: str, answer: str, purpose: str, max_age: int = MAX_AGE) -> str:
    """The challenge's nonce when `answer` solves a challenge issued for `purpose` and not too old; else
    ChallengeFailed with a message in the person's language."""
    if not challenge or not answer:
        raise ChallengeFailed(_("The page's check against automated submissions did not finish. Wait a moment "
                                "and submit again (the page needs JavaScript)."))
    try:
        data = _signer().loads(challenge, max_age=max_age)
    except SignatureExpired as err:
        raise ChallengeFailed(_("The page was open too long. Reload it and submit again.")) from err
    except BadSignature as err:
        raise ChallengeFailed(_("The check against automated submissions failed. Reload the page and submit "
                                "again.")) from err
    if not isinstance(data, dict) or data.get("p") != purpose or not str(answer).isdigit() or len(answer) > 12:
        raise ChallengeFailed(_("The check against automated submissions failed. Reload the page and submit "
                                "again."))
    if zero_bits(_digest(challenge, answer)) < int(data.get("b", 0)):
        raise ChallengeFailed(_("The check against automated submissions failed. Reload the page and submit "
                                "again."))
    return str(data["n"])


def nonce_hash(nonce: str) -> str:
    """What a caller stores to spend a challenge once."""
    return hashlib.sha256(nonce.encode()).hexdigest()
