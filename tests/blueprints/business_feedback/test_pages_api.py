"""The doors: pages and the API call the same services and answer refusals as 403, 404, 409 and 422 with
nothing changed; another district's items, departments and supervisors are 404 through both."""

from __future__ import annotations

import sqlalchemy as sa

from blueprints.business_feedback.models import FeedbackItem, Supervisor
from tenants.models import User
from tests.plugin import bearer, text_of


def api(world, path=""):  # type: ignore[no-untyped-def]
    return f"/api/v1/t/{world.tenant.slug}/business_feedback{path}"


def page(world, path=""):  # type: ignore[no-untyped-def]
    return f"/t/{world.tenant.slug}/business_feedback{path}"


def count(world):  # type: ignore[no-untyped-def]
    with world.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(FeedbackItem))


def test_a_supervisor_submits_from_the_page_and_the_office_assigns_through_the_api(world_a, client, login_as):
    login_as(world_a.users["sup"])
    form = client.get(page(world_a, "/new"))
    assert form.status_code == 200
    assert "开办企业" in form.get_data(as_text=True)
    sent = client.post(page(world_a, "/new"), data={"kind": "problem", "area_code": "taxes",
                                                     "description": "发票领用排队太久", "urgency": "urgent"})
    assert sent.status_code == 302
    with world_a.session() as s:
        item = s.scalars(sa.select(FeedbackItem)).one()
    token = world_a.factory.token(world_a.users["office"])
    done = client.post(api(world_a, f"/items/{item.id}/transitions"), headers=bearer(token), json={
        "action": "accept", "version": item.version, "department_ids": [str(world_a.unit_id("d2"))],
        "deadline_days": 3})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "assigned"
    again = client.post(api(world_a, f"/items/{item.id}/transitions"), headers=bearer(token), json={
        "action": "accept", "version": item.version, "department_ids": [str(world_a.unit_id("d2"))]})
    assert again.status_code == 409  # a stale version
    login_as(world_a.users["dept2"])
    answered = client.post(page(world_a, f"/items/{item.id}/act/answer"), data={
        "version": str(done.get_json()["version"]), "answer": "已增设发票自助领用机"})
    assert answered.status_code == 302
    assert world_a.get(item).state == "answered"


def test_refusals_through_the_api(world_a, client):
    item = world_a.submit()
    sup = world_a.factory.token(world_a.users["sup"])
    office = world_a.factory.token(world_a.users["office"])
    dept = world_a.factory.token(world_a.users["dept"])
    url = api(world_a, f"/items/{item.id}/transitions")
    assert client.post(url, headers=bearer(sup), json={"action": "record", "version": 1}).status_code == 403
    assert client.post(url, headers=bearer(dept), json={"action": "record", "version": 1}).status_code == 404
    assert client.post(url, headers=bearer(office), json={"action": "answer", "version": 1}).status_code == 409
    assert client.post(url, headers=bearer(office), json={"action": "accept", "version": 1,
                                                         "department_ids": []}).status_code == 422
    assert client.post(url, headers=bearer(office), json={"action": "fly", "version": 1}).status_code == 422
    bad = client.post(api(world_a, "/items"), headers=bearer(sup), json={
        "kind": "problem", "area_code": "start", "description": "x", "credit_code": "91110000600037341X"})
    assert bad.status_code == 422
    assert "L" in bad.get_json()["errors"]["credit_code"][0]
    assert client.post(api(world_a, "/items"), headers=bearer(office), json={
        "kind": "problem", "area_code": "start", "description": "x"}).status_code == 403
    assert world_a.get(item).state == "submitted"
    assert count(world_a) == 1


def test_another_districts_rows_are_not_found(world_a, world_b, client, login_as):
    theirs = world_b.submit()
    office = world_a.factory.token(world_a.users["office"])
    assert client.get(api(world_a, f"/items/{theirs.id}"), headers=bearer(office)).status_code == 404
    assert client.post(api(world_a, f"/items/{theirs.id}/transitions"), headers=bearer(office),
                       json={"action": "record", "version": 1}).status_code == 404
    mine = world_a.submit()
    foreign_department = client.post(api(world_a, f"/items/{mine.id}/transitions"), headers=bearer(office), json={
        "action": "accept", "version": 1, "department_ids": [str(world_b.unit_id("d1"))]})
    assert foreign_department.status_code == 404
    with world_b.session() as s:
        their_sup = s.scalars(sa.select(Supervisor)).first()
    assert client.post(api(world_a, f"/supervisors/{their_sup.id}/dismissal"), headers=bearer(office),
                       json={"reason": "x"}).status_code == 404
    login_as(world_a.users["office"])
    assert client.get(page(world_a, f"/items/{theirs.id}")).status_code == 404
    assert client.get(page(world_a, f"/supervisors/{their_sup.id}/certificate")).status_code == 404
    assert world_b.get(theirs).state == "submitted"


def test_roster_pages_appoint_dismiss_and_print(world_a, client, login_as):
    login_as(world_a.users["office"])
    listing = client.get(page(world_a, "/supervisors"))
    assert listing.status_code == 200
    assert "138****0001" in text_of(listing.get_data(as_text=True))  # phones masked
    made = client.post(page(world_a, "/supervisors"), data={
        "name": "李体验", "phone": "13912340077", "kind_code": "experience", "source_group": "student",
        "batch": "第一批"})
    assert made.status_code == 302
    with world_a.session() as s:
        sup = s.scalars(sa.select(Supervisor).order_by(Supervisor.id.desc())).first()
    cert = client.get(page(world_a, f"/supervisors/{sup.id}/certificate"))
    assert sup.certificate_no in cert.get_data(as_text=True)
    assert "李体验" in cert.get_data(as_text=True)
    no_reason = client.post(page(world_a, f"/supervisors/{sup.id}/dismiss"), data={"reason": ""})
    assert no_reason.status_code == 422
    gone = client.post(page(world_a, f"/supervisors/{sup.id}/dismiss"), data={"reason": "毕业离开本区"})
    assert gone.status_code == 302
    login_as(world_a.users["dept"])
    assert client.get(page(world_a, "/supervisors")).status_code == 403


def test_enterprise_page_names_the_check_digit(world_a, client, login_as):
    login_as(world_a.users["office"])
    bad = client.post(page(world_a, "/enterprises"), data={"name": "某公司", "credit_code": "91110000600037341X"})
    assert bad.status_code == 422
    assert "L" in text_of(bad.get_data(as_text=True))
    good = client.post(page(world_a, "/enterprises"), data={"name": "某公司", "credit_code": "91110000600037341L",
                                                             "contact_phone": "13812345678"})
    assert good.status_code == 302
    assert "138****5678" in client.get(page(world_a, "/enterprises")).get_data(as_text=True)


def test_overdue_page_and_widget(world_a, client, login_as):
    login_as(world_a.users["discipline"])
    assert client.get(page(world_a, "/overdue")).status_code == 200
    login_as(world_a.users["sup"])
    assert client.get(page(world_a, "/overdue")).status_code == 403
    assert client.get(page(world_a, "/widgets/summary")).status_code == 200


def test_certificates_print_one_or_a_batch_and_read_back_as_pdf(world_a, world_b, client, login_as):
    """聘任证书 one by one or a batch at once, as an HTML print view and as a PDF (the kernel's saas.pdf), one
    certificate a page; a dismissed supervisor's is left out of the batch; another district's never in it."""
    import io
    from urllib.parse import quote

    import pypdf

    login_as(world_a.users["office"])
    for name, phone, batch in (("王一批", "13912340101", "二〇二六甲批"), ("赵一批", "13912340102", "二〇二六甲批"),
                               ("钱二批", "13912340103", "二〇二六乙批")):
        assert client.post(page(world_a, "/supervisors"), data={
            "name": name, "phone": phone, "kind_code": "experience", "source_group": "student",
            "batch": batch}).status_code == 302
    with world_a.session() as s:
        made = {name: sup for name, sup in s.execute(
            sa.select(User.name, Supervisor).join(User, User.id == Supervisor.user_id)
            .where(User.name.in_(("王一批", "赵一批", "钱二批"))))}
    assert client.post(page(world_a, f"/supervisors/{made['赵一批'].id}/dismiss"),
                       data={"reason": "调离本区"}).status_code == 302

    listing = client.get(page(world_a, "/supervisors")).get_data(as_text=True)
    assert "/supervisors/certificates?batch=" + quote("二〇二六甲批") in listing

    first = client.get(page(world_a, "/supervisors/certificates"), query_string={"batch": "二〇二六甲批"})
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.count('class="certificate"') == 1  # 赵一批 was dismissed
    assert made["王一批"].certificate_no in html
    assert "钱二批" not in html

    def pages_of(response) -> list[str]:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/pdf"
        return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.data)).pages]

    one = pages_of(client.get(page(world_a, f"/supervisors/{made['钱二批'].id}/certificate.pdf")))
    assert len(one) == 1
    assert "钱二批" in one[0]
    assert made["钱二批"].certificate_no in one[0]
    every = pages_of(client.get(page(world_a, "/supervisors/certificates.pdf")))
    names = [next((n for n in made if n in text), None) for text in every]
    assert sorted(n for n in names if n) == ["王一批", "钱二批"]  # one to a page, the dismissed left out
    assert all(text.count("兹聘任") == 1 for text in every)  # a certificate a page
    assert not any(world_b.tenant.name_zh in text for text in every)

    login_as(world_a.users["dept"])
    assert client.get(page(world_a, "/supervisors/certificates.pdf")).status_code == 403
