"""The kernel's proof of work (`saas.pow`): a signed challenge for one purpose, solved by counting, checked for
its signature, purpose, age and hash; the browser's script (static/pow.js) hashes the same way."""

from __future__ import annotations

import hashlib
import time

import pytest

from saas import pow


def test_zero_bits_counts_the_leading_zero_bits() -> None:
    assert pow.zero_bits(bytes([0, 0, 0xFF])) == 16
    assert pow.zero_bits(bytes([0, 0x10])) == 11
    assert pow.zero_bits(bytes([0x80])) == 0
    assert pow.zero_bits(bytes(4)) == 32


def test_a_solved_challenge_passes_once_for_its_purpose_only(app) -> None:
    with app.test_request_context():
        issued = pow.issue("ballot:1", 10)
        answer = pow.solve(issued["challenge"], 10)
        digest = hashlib.sha256(f"{issued['challenge']}:{answer}".encode()).digest()
        assert pow.zero_bits(digest) >= 10
        nonce = pow.verify(issued["challenge"], answer, "ballot:1")
        assert pow.nonce_hash(nonce) == hashlib.sha256(nonce.encode()).hexdigest()
        with pytest.raises(pow.ChallengeFailed, match="防刷验证未通过"):
            pow.verify(issued["challenge"], answer, "ballot:2")  # another form's challenge
        wrong = next(str(n) for n in range(10_000) if pow.zero_bits(hashlib.sha256(
            f"{issued['challenge']}:{n}".encode()).digest()) < 10)
        with pytest.raises(pow.ChallengeFailed):
            pow.verify(issued["challenge"], wrong, "ballot:1")
        with pytest.raises(pow.ChallengeFailed, match="尚未完成"):
            pow.verify(issued["challenge"], "", "ballot:1")
        with pytest.raises(pow.ChallengeFailed):
            pow.verify(issued["challenge"] + "x", answer, "ballot:1")  # a forged signature
        time.sleep(1.1)
        with pytest.raises(pow.ChallengeFailed, match="页面打开时间过长"):
            pow.verify(issued["challenge"], answer, "ballot:1", max_age=0)
