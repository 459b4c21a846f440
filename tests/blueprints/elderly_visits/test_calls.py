"""Call buttons on the phone pages: the resident's and the emergency contacts' numbers as tel: links, for those who
may read them only."""

from __future__ import annotations

import sqlalchemy as sa

from blueprints.elderly_visits import services
from tests.blueprints.elderly_visits.conftest import World


def test_the_assigned_worker_gets_call_buttons_and_the_grid_leader_none(client, login_as, world_a: World) -> None:
    p = world_a.register(phone=f"{world_a.phone_head}5555")
    with world_a.session() as s:
        e = services.raise_emergency(s, world_a.tenant, world_a.actor(s, "worker"), p.id, {"kind": "fall"})
        s.commit()
    contact = f"{world_a.phone_head}0001"
    login_as(world_a.users["worker"])
    for url in (f"/t/alpha/elderly_visits/people/{p.id}", f"/t/alpha/elderly_visits/emergencies/{e.id}"):
        html = client.get(url).get_data(as_text=True)
        assert f'role="button" class="secondary" href="tel:{world_a.phone_head}5555"' in html, url
        assert f'href="tel:{contact}" aria-label="致电女儿"' in html, url
    login_as(world_a.users["leader"])
    for url in (f"/t/alpha/elderly_visits/people/{p.id}", f"/t/alpha/elderly_visits/emergencies/{e.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "tel:" not in html, url
    # each page that showed the numbers is in the audit log
    from saas.audit import AuditEntry

    with world_a.session() as s:
        views = s.scalars(sa.select(AuditEntry.actor_id).where(
            AuditEntry.action == "elderly_visits.view_sensitive")).all()
    assert views == [world_a.users["worker"].id] * 2
