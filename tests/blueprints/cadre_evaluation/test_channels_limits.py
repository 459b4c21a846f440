"""The ballot box's own limit (`BALLOT_BOX_RATE_LIMIT`, `saas.throttle.keyed_limits`), through the real Redis:
one campaign takes so many submissions from every phone and address together, and another campaign of the same
district is not held up by it. A refused submission stores nothing and answers 429."""

from __future__ import annotations

import pytest
import redis

from blueprints.cadre_evaluation.models import LedgerEntry
from tests.blueprints.cadre_evaluation.conftest import DIMS, World
from tests.plugin import WORKER_REDIS_URL

LIMITED = {"RATELIMIT_ENABLED": True, "REDIS_URL": WORKER_REDIS_URL, "BALLOT_BOX_RATE_LIMIT": "3 per minute",
           "LOGIN_RATE_LIMIT": "100 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "100 per minute",
           "PHONE_CODE_RATE_LIMIT": "100 per minute", "PHONE_CODE_ADDRESS_RATE_LIMIT": "100 per minute"}


@pytest.fixture(autouse=True)
def empty_redis() -> None:
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()


@pytest.mark.config(**LIMITED)
def test_one_campaign_takes_at_most_its_limit_from_everyone_together(world_a: World) -> None:
    busy = world_a.campaign(targets=1)
    world_a.step(busy, "open")
    quiet = world_a.campaign(targets=1)
    world_a.step(quiet, "open")

    answers: list[str] = []

    def post(campaign_id: int, i: int, address: str) -> int:
        client = world_a.app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        (target,) = world_a.targets(campaign_id)
        form = {f"r-{target.id}-{d}": "satisfied" for d in DIMS}
        answer = client.post(f"/t/alpha/cadre_evaluation/c/{campaign_id}/rate",
                             data={**form, "phone": f"1390000{i:04d}", "code": "123456"})
        answers.append(answer.get_data(as_text=True))
        return answer.status_code

    # wrong codes from three phones and addresses: refused (422), each counting in the box's bucket
    assert [post(busy.id, i, f"10.0.0.{i}") for i in range(3)] == [422, 422, 422]
    fourth = post(busy.id, 9, "10.0.0.9")
    assert fourth == 429
    assert "尝试次数过多" in answers[-1]
    assert post(quiet.id, 10, "10.0.0.10") == 422  # the other campaign's box is its own
    assert world_a.count(LedgerEntry) == 0
