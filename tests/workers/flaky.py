"""A job for the job board's test: it fails, quoting a phone number as a gateway's error might, until its flag is
set in the worker's Redis; then it succeeds."""

from __future__ import annotations

from rq import get_current_job


def fail_until_allowed(flag: str) -> str:
    job = get_current_job()
    if job is None or not job.connection.get(flag):
        raise RuntimeError("the gateway refused 13812345678: busy")
    return "done"
