"""The residents' side: report without an account (phone code), follow the case, see its public steps, rate."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from blueprints.grid_cases.models import CasePhoto, GridCase
from saas.notify import Notification
from tenants.models import User
from tests.blueprints.grid_cases.conftest import World, jpeg
from tests.plugin import PhoneCodes, session_data, text_of

PHONE = "13812349876"


def report_as_resident(client, world: World, codes: PhoneCodes, **extra) -> object:
    assert client.post("/t/alpha/grid_cases/report/code", data={"phone": PHONE},
                       headers={"HX-Request": "true"}).status_code == 200
    data = {"location_code": world.code("g1"), "category_code": "streetlight", "description": "楼下路灯坏了",
            "address": "3号楼", "phone": PHONE, "code": codes.last(PHONE), "source": "qr", **extra}
    return client.post("/t/alpha/grid_cases/report", data=data, content_type="multipart/form-data")


def test_the_public_form_opens_for_anyone_and_from_the_qr_code(client, world_a: World) -> None:
    page = client.get("/t/alpha/grid_cases/report")
    assert page.status_code == 200
    assert "晋祠路一号院1网格" in page.get_data(as_text=True)
    fixed = client.get(f"/t/alpha/grid_cases/report?grid={world_a.code('g1')}").get_data(as_text=True)
    assert 'type="hidden" name="location_code" value="alpha-g1"' in fixed


def test_a_resident_reports_with_a_phone_code_and_follows_the_public_steps(
        client, world_a: World, phone_codes: PhoneCodes) -> None:
    response = report_as_resident(client, world_a, phone_codes, photos=(io.BytesIO(jpeg()), "lamp.jpg"))
    assert response.status_code == 302
    public_url = response.headers["Location"]
    number = public_url.rsplit("/", 1)[-1]
    with world_a.session() as s:
        case = s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()
        assert (case.source, case.state, case.reporter_phone) == ("qr", "reported", PHONE)
    world_a.move(case, "worker:accept worker:handle")
    world_a.act("worker", case, "resolve", result="更换灯泡")
    page = client.get(public_url)
    text = text_of(page.get_data(as_text=True))
    assert page.status_code == 200
    assert number in text
    assert "更换灯泡" in text
    assert "甲区worker" not in text  # staff names never; the role instead
    photo_ids = re.findall(r"/public/photos/(\d+)", page.get_data(as_text=True))
    assert photo_ids
    assert client.get(f"/t/alpha/grid_cases/public/photos/{photo_ids[0]}").status_code == 200
    assert client.get("/t/alpha/grid_cases/mine").get_data(as_text=True).count(number) >= 1


def test_a_wrong_code_reports_nothing(client, world_a: World, phone_codes: PhoneCodes) -> None:
    client.post("/t/alpha/grid_cases/report/code", data={"phone": PHONE})
    response = client.post("/t/alpha/grid_cases/report", data={
        "location_code": world_a.code("g1"), "category_code": "streetlight", "description": "楼下路灯坏了",
        "phone": PHONE, "code": "000000" if phone_codes.last(PHONE) != "000000" else "111111"})
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(GridCase)) == 0


def test_a_staff_number_cannot_report_as_a_resident(client, world_a: World) -> None:
    """The code button answers a staff number as any other (it must not tell who is staff) and sends nothing."""
    staff_phone = world_a.users["worker"].phone
    other = staff_phone[:3] + "0000" + staff_phone[-4:]  # masked the same: 1xx****nnnn
    answers = [(a.status_code, a.get_data(as_text=True).replace(phone, "N")) for phone, a in (
        (phone, client.post("/t/alpha/grid_cases/report/code", data={"phone": phone}, headers={"HX-Request": "1"}))
        for phone in (staff_phone, other))]
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    # and nothing was made for it: no code, no notice, no resident account
    from tenants.models import PhoneCode

    with world_a.session() as s:
        assert s.scalars(sa.select(PhoneCode).where(PhoneCode.phone == staff_phone)).all() == []
        assert [n.user_id for n in s.scalars(sa.select(Notification).where(Notification.kind == "auth.phone_code"))] \
            == list(s.scalars(sa.select(User.id).where(User.phone == other)))
        assert s.scalars(sa.select(User.kind).where(User.phone == staff_phone)).all() == ["staff"]
    # whatever code it types, a staff number is refused as a wrong code, like any number without one
    refused = client.post("/t/alpha/grid_cases/report", data={
        "location_code": world_a.code("g1"), "category_code": "streetlight", "description": "楼下路灯坏了",
        "phone": staff_phone, "code": "123456"})
    assert refused.status_code == 422
    assert "staff" not in refused.get_data(as_text=True)


def test_following_by_number_goes_through_the_residents_sign_in(client, world_a: World) -> None:
    response = client.get("/t/alpha/grid_cases/track?number=XD-20261122-0001&phone=13812349876")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/t/alpha/citizen"
    assert parse_qs(target.query) == {"next": ["/t/alpha/grid_cases/public/XD-20261122-0001"], "phone": [PHONE]}
    assert client.get("/t/alpha/grid_cases/track?number=&phone=123").status_code == 422
    # the form sent empty is answered field by field, under a summary the title announces; the first visit is not
    empty = client.get("/t/alpha/grid_cases/track?number=&phone=")
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert 'class="flash flash-error error-summary"' in html
    assert "<title>错误：" in html
    assert 'href="#f-number"' in html
    assert 'href="#f-phone"' in html
    assert 'aria-describedby="number-error"' in html
    assert 'id="number-error"' in html
    first = client.get("/t/alpha/grid_cases/track")
    assert first.status_code == 200
    assert "error-summary" not in first.get_data(as_text=True)


def test_another_phone_never_sees_the_case_and_the_reporter_rates_it(
        client, app, world_a: World, phone_codes: PhoneCodes) -> None:
    response = report_as_resident(client, world_a, phone_codes)
    public_url = response.headers["Location"]
    number = public_url.rsplit("/", 1)[-1]
    with world_a.session() as s:
        case = s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()
    world_a.move(case, "worker:accept worker:handle worker:resolve leader:verify worker:close")
    stranger = app.test_client()
    world_a.citizen(7)
    data = session_data(stranger.application, world_a.users["citizen7"])
    with stranger.session_transaction() as sess:
        sess.update(data)
    assert stranger.get(public_url).status_code == 404
    anonymous = app.test_client().get(public_url)
    assert anonymous.status_code == 302
    assert urlsplit(anonymous.headers["Location"]).path == "/t/alpha/citizen"
    page = client.get(public_url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert client.post(f"{public_url}/rate", data={"version": version, "rating": "superb"}).status_code == 422
    rated = client.post(f"{public_url}/rate", data={"version": version, "rating": "basically", "comment": "还行"})
    assert rated.status_code == 302
    assert world_a.get(case).state == "rated"
    assert world_a.get(case).rating == "basically"


def test_verification_photos_stay_internal(client, world_a: World, phone_codes: PhoneCodes) -> None:
    from saas.pictures import Upload

    response = report_as_resident(client, world_a, phone_codes)
    number = response.headers["Location"].rsplit("/", 1)[-1]
    with world_a.session() as s:
        case = s.scalars(sa.select(GridCase).where(GridCase.number == number)).one()
    world_a.move(case, "worker:accept worker:handle worker:resolve")
    world_a.act("leader", case, "verify", photos=(Upload("site.jpg", jpeg()),))
    with world_a.session() as s:
        photo_id = s.scalars(sa.select(CasePhoto.id).where(CasePhoto.case_id == case.id,
                                                           CasePhoto.stage == "verify")).one()
    assert client.get(f"/t/alpha/grid_cases/public/photos/{photo_id}").status_code == 404


def test_the_districts_page_offers_residents_the_report_form_while_the_module_is_on(client, app, world_a) -> None:
    welcome = client.get("/t/alpha/").get_data(as_text=True)
    assert 'href="/t/alpha/grid_cases/report"' in welcome
    assert 'href="/t/alpha/grid_cases/track"' in welcome
    world_a.citizen(3)
    resident = app.test_client()
    data = session_data(resident.application, world_a.users["citizen3"])
    with resident.session_transaction() as sess:
        sess.update(data)
    home = resident.get("/t/alpha/").get_data(as_text=True)
    assert 'href="/t/alpha/grid_cases/mine"' in home
    assert '<a role="button" href="/t/alpha/login">' not in home  # the staff card is not offered to a resident
    world_a.factory.enable_module(world_a.tenant, "grid_cases", False)
    assert "/grid_cases/report" not in client.get("/t/alpha/").get_data(as_text=True)
