"""A visit's optional photo, read by the kernel's `saas.pictures` (re-encoded, metadata gone): sent with the visit
on the page or apart through the API, seen only by those who see the visit, bad files refused with nothing kept."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from blueprints.elderly_visits.models import Visit, VisitPhoto
from tests.blueprints.elderly_visits.conftest import World
from tests.blueprints.grid_cases.conftest import jpeg
from tests.plugin import bearer

API = "/api/v1/t/alpha/elderly_visits"


def _visit_form(**over: object) -> dict[str, object]:
    return {"kind": "home", "health": "good", "mood": "fair", "notes": "聊了聊", "client_key": "", **over}


def _count(world: World, model: type) -> int:
    with world.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_visit_logged_with_a_photo_shows_it_to_those_who_see_the_visit(client, world_a: World, world_b: World,
                                                                        login_as) -> None:
    p = world_a.register()
    login_as(world_a.users["worker"])
    resp = client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit", content_type="multipart/form-data",
                       data=_visit_form(photo=(io.BytesIO(jpeg(800, 600)), "visit.jpg")))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with world_a.session() as s:
        visit = s.scalars(sa.select(Visit)).one()
        photo = s.scalars(sa.select(VisitPhoto)).one()
        assert (photo.visit_id, photo.uploaded_by_id) == (visit.id, world_a.users["worker"].id)
    page = client.get(f"/t/alpha/elderly_visits/people/{p.id}").get_data(as_text=True)
    assert f"/t/alpha/elderly_visits/visits/{visit.id}/photo" in page
    full = client.get(f"/t/alpha/elderly_visits/visits/{visit.id}/photo")
    assert (full.status_code, full.headers["Content-Type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(full.data)).size == (800, 600)
    thumb = client.get(f"/t/alpha/elderly_visits/visits/{visit.id}/photo?size=thumb")
    assert max(Image.open(io.BytesIO(thumb.data)).size) == 320
    # the cadre of the community sees it; the grid worker of another community and another district do not
    login_as(world_a.users["cadre"])
    assert client.get(f"/t/alpha/elderly_visits/visits/{visit.id}/photo").status_code == 200
    login_as(world_a.users["worker3"])
    assert client.get(f"/t/alpha/elderly_visits/visits/{visit.id}/photo").status_code == 404
    assert client.get(f"{API}/visits/{visit.id}/photo",
                      headers=bearer(world_a.factory.token(world_a.users["worker2"]))).status_code == 404
    token_b = world_b.factory.token(world_b.users["admin"])
    assert client.get(f"/api/v1/t/beta/elderly_visits/visits/{visit.id}/photo",
                      headers=bearer(token_b)).status_code == 404
    listed = client.get(f"{API}/people/{p.id}/visits", headers=bearer(world_a.factory.token(world_a.users["cadre"])))
    assert listed.json["items"][0]["has_photo"] is True


def test_a_file_that_is_no_photo_is_refused_and_no_visit_is_kept(client, world_a: World, login_as) -> None:
    p = world_a.register()
    login_as(world_a.users["worker"])
    resp = client.post(f"/t/alpha/elderly_visits/people/{p.id}/visit", content_type="multipart/form-data",
                       data=_visit_form(photo=(io.BytesIO(b"not a picture"), "x.jpg")))
    assert resp.status_code == 422
    assert 'id="photo-error"' in resp.get_data(as_text=True)
    assert _count(world_a, Visit) == 0
    assert _count(world_a, VisitPhoto) == 0


def test_the_api_adds_one_photo_to_a_visit_by_its_workers_only(client, world_a: World) -> None:
    p = world_a.register()
    visit = world_a.visit(p)
    worker = bearer(world_a.factory.token(world_a.users["worker"]))
    other = bearer(world_a.factory.token(world_a.users["worker2"]))
    url = f"{API}/visits/{visit.id}/photo"
    assert client.post(url, data={"photo": (io.BytesIO(jpeg()), "a.jpg")}, headers=other,
                       content_type="multipart/form-data").status_code == 404
    bad = client.post(url, data={"photo": (io.BytesIO(b"GIF89a"), "a.gif")}, headers=worker,
                      content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "photo" in bad.json["errors"]
    ok = client.post(url, data={"photo": (io.BytesIO(jpeg()), "a.jpg")}, headers=worker,
                     content_type="multipart/form-data")
    assert ok.status_code == 201, ok.json
    again = client.post(url, data={"photo": (io.BytesIO(jpeg()), "b.jpg")}, headers=worker,
                        content_type="multipart/form-data")
    assert again.status_code == 409
    assert _count(world_a, VisitPhoto) == 1
    assert client.get(url, headers=worker).status_code == 200
