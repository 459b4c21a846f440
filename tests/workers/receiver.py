"""A local HTTP receiver standing in for the SMS gateway and the DingTalk/WeCom robots.

It records every POST, honours the Idempotency-Key header as a real gateway would (a second request
with a key it has seen is acknowledged but not delivered again), and can be told to fail or to hang.
Run it in a thread (tests) or as its own process (`python -m tests.workers.receiver PORT`, benchmarks).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # every request that arrived
        self.delivered: dict[str, dict[str, Any]] = {}  # idempotency key -> first request
        self.mode = "ok"  # ok | fail | hang | dingtalk-throttle
        self.arrived = 0  # requests that reached the receiver, answered or not
        self.hang_seconds = 30.0  # the longest a hung request waits for `release`
        self.release = threading.Event()  # set: hung requests are answered now
        self.changed = threading.Condition(self.lock)  # notified on every arrival and every answer
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait until `predicate()` holds (checked on each arrival and answer), at most `timeout` seconds."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"the receiver did not see it within {timeout:.0f}s: {self.requests}")

    @property
    def duplicates(self) -> int:
        keys = [r["key"] for r in self.requests if r["status"] == 200]
        return len(keys) - len(set(keys))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                mode = receiver.mode
                with receiver.changed:
                    receiver.arrived += 1
                    receiver.changed.notify_all()
                if mode == "hang":
                    receiver.release.wait(receiver.hang_seconds)
                status = 500 if mode == "fail" else 200
                record = {"path": self.path, "key": key, "body": body, "status": status,
                          "authorization": self.headers.get("Authorization")}
                with receiver.changed:
                    receiver.requests.append(record)
                    if status == 200 and key not in receiver.delivered:
                        receiver.delivered[key] = record
                    receiver.changed.notify_all()
                answer = {"errcode": 130101, "errmsg": "send too fast"} if mode == "dingtalk-throttle" else \
                    {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with receiver.lock:
                    data = json.dumps({"delivered": len(receiver.delivered), "requests": len(receiver.requests),
                                       "duplicates": receiver.duplicates}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


if __name__ == "__main__":
    r = Receiver()
    r.server.server_close()
    r.server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), r._handler())
    r.server.daemon_threads = True
    print(f"receiver on {r.url}", flush=True)
    r.server.serve_forever()
