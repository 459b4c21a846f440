"""The JSON API of grid cases: report, list with keyset pages, one case, transitions, photos; errors as JSON."""

from __future__ import annotations

import io

from tests.blueprints.grid_cases.conftest import World, jpeg
from tests.plugin import bearer

BASE = "/api/v1/t/alpha/grid_cases"
LEAK = {"category_code": "water", "description": "漏水"}


def token(world: World, who: str) -> dict[str, str]:
    return bearer(world.factory.token(world.users[who]))


def test_report_list_and_read_a_case(client, world_a: World) -> None:
    worker = token(world_a, "worker")
    made = client.post(f"{BASE}/cases", json={"category_code": "water", "location_code": world_a.code("b1"),
                                              "description": "单元门口积水", "lat": 37.85, "lng": 112.55},
                       headers=worker)
    assert made.status_code == 201, made.json
    body = made.json
    assert body["state"] == "accepted"
    assert body["compound"] == "晋祠路一号院"
    assert isinstance(body["id"], str)
    assert {"handle", "escalate"} <= set(body["actions"])
    for i in range(4):
        client.post(f"{BASE}/cases", json={"category_code": "other", "description": f"第{i}件",
                                           "location_code": world_a.code("g1")}, headers=worker)
    page = client.get(f"{BASE}/cases?limit=3", headers=worker).json
    assert len(page["items"]) == 3
    assert page["next"]
    rest = client.get(f"{BASE}/cases?limit=3&before={page['next']}", headers=worker).json
    assert len(rest["items"]) == 2
    assert rest["next"] is None
    detail = client.get(f"{BASE}/cases/{body['id']}", headers=worker).json
    assert [e["action"] for e in detail["timeline"]] == ["report", "accept"]
    assert client.get(f"{BASE}/cases?state=lost", headers=worker).status_code == 422


def test_transitions_answer_409_403_and_422_with_a_code_and_a_message(client, world_a: World) -> None:
    worker, dept = token(world_a, "worker"), token(world_a, "dept")
    case = client.post(f"{BASE}/cases", json=LEAK | {"location_code": world_a.code("g1")}, headers=worker).json
    url = f"{BASE}/cases/{case['id']}/transitions"
    ok = client.post(url, json={"action": "handle", "version": case["version"]}, headers=worker)
    assert ok.status_code == 200
    assert ok.json["state"] == "in_progress"
    stale = client.post(url, json={"action": "escalate", "version": case["version"]}, headers=worker)
    assert stale.status_code == 409
    assert stale.json["code"] == "conflict"
    assert stale.json["message"]
    hidden = client.post(url, json={"action": "take", "version": ok.json["version"]}, headers=dept)
    assert hidden.status_code == 404  # the department does not see what was never dispatched to it
    leader = token(world_a, "leader")
    wrong = client.post(url, json={"action": "verify", "version": ok.json["version"]}, headers=leader)
    assert wrong.status_code == 409  # not resolved yet
    cadre = token(world_a, "cadre")
    forbidden = client.post(url, json={"action": "resolve", "version": ok.json["version"], "result": "x"},
                            headers=cadre)
    assert forbidden.status_code == 403
    assert forbidden.json["code"] == "forbidden"
    missing = client.post(url, json={"action": "resolve", "version": ok.json["version"]}, headers=worker)
    assert missing.status_code == 422
    assert "result" in missing.json["errors"]
    unknown = client.post(url, json={"action": "teleport", "version": ok.json["version"]}, headers=worker)
    assert unknown.status_code == 404


def test_photos_are_uploaded_and_read_back_as_jpeg(client, world_a: World) -> None:
    worker = token(world_a, "worker")
    case = client.post(f"{BASE}/cases", json=LEAK | {"location_code": world_a.code("g1")}, headers=worker).json
    up = client.post(f"{BASE}/cases/{case['id']}/photos?stage=report",
                     data={"photos": [(io.BytesIO(jpeg()), "a.jpg"), (io.BytesIO(jpeg(fmt="PNG")), "b.png")]},
                     headers=worker, content_type="multipart/form-data")
    assert up.status_code == 201
    assert len(up.json) == 2
    image = client.get(up.json[0]["url"], headers=worker)
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert image.data[:2] == b"\xff\xd8"
    bad = client.post(f"{BASE}/cases/{case['id']}/photos", data={"photos": [(io.BytesIO(b"<svg/>"), "x.svg")]},
                      headers=worker, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "photos" in bad.json["errors"]
    late = client.post(f"{BASE}/cases/{case['id']}/photos?stage=verify",
                       data={"photos": [(io.BytesIO(jpeg()), "a.jpg")]}, headers=worker,
                       content_type="multipart/form-data")
    assert late.status_code == 403


def test_the_api_of_a_module_switched_off_is_gone_and_another_districts_case_is_404(client, world_a, world_b):
    worker = token(world_a, "worker")
    b_case = world_b.report("worker")
    assert client.get(f"{BASE}/cases/{b_case.id}", headers=worker).status_code == 404
    world_a.factory.enable_module(world_a.tenant, "grid_cases", False)
    assert client.get(f"{BASE}/cases", headers=worker).status_code == 404
