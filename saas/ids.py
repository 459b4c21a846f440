"""Time-ordered 64-bit ids made by the application.

SQLite cannot autoincrement a composite primary key, and (tenant_id, id) keys are what let the
database refuse cross-tenant references, so every row's id is made here: 41 bits of milliseconds
since 2024-01-01, 12 bits that identify the process (random, drawn again after a fork) and a
10-bit counter within the millisecond.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

_EPOCH_MS = 1_704_067_200_000
_lock = threading.Lock()
_state = {"pid": -1, "node": 0, "ms": 0, "seq": 0}


def new_id() -> int:
    with _lock:
        pid = os.getpid()
        if _state["pid"] != pid:
            _state.update(pid=pid, node=secrets.randbits(12), ms=0, seq=0)
        now = int(time.time() * 1000) - _EPOCH_MS
        if now <= _state["ms"]:
            now = _state["ms"]
            _state["seq"] += 1
            if _state["seq"] >= 1024:
                now += 1
                _state["seq"] = 0
        else:
            _state["seq"] = 0
        _state["ms"] = now
        return (now << 22) | (_state["node"] << 10) | _state["seq"]
