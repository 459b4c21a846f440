"""One person, one ballot per target across channels, under concurrent submissions on PostgreSQL (the same phone
online by code, from seats and by its invitation, all at once; a seat scanned by many phones at once), and
anonymity on the channels' tables: no column, order, time or transaction id links a ballot or an opinion to a
phone, a token, a seat code or a user."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from blueprints.cadre_evaluation import channels, services
from blueprints.cadre_evaluation.models import (
    Ballot,
    Invitation,
    LedgerEntry,
    Opinion,
    PaperSheet,
    RaterGroup,
    SeatCode,
    SpentChallenge,
)
from saas import pow
from saas.db import Base
from tests.blueprints.cadre_evaluation.conftest import World, all_levels

PHONE = "13812349876"


def run_race(world: World, n: int, submit: Callable[[Any, int], str]) -> tuple[list[str], list[str]]:
    barrier = threading.Barrier(n)
    accepted: list[str] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with world.session() as s:
                barrier.wait(timeout=30)
                try:
                    code = submit(s, i)
                    s.commit()
                    accepted.append(code)
                except (services.Refused, services.ServiceError) as err:
                    s.rollback()
                    refused.append(getattr(err, "message", str(err)))
        except BaseException as err:
            failed.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed, failed
    return accepted, refused


def setup(world: World) -> tuple[Any, Any, list[str], str]:
    """An open campaign with one target, four seat codes and an invitation for PHONE."""
    campaign = world.campaign(targets=1)
    world.step(campaign, "open")
    (target,) = world.targets(campaign)
    with world.session() as s:
        actor = world.actor(s)
        group = channels.add_group(s, world.tenant, actor, campaign.id, {"name": "企业代表", "channel": "online"})
        made = channels.issue_seat_codes(s, world.tenant, actor, campaign.id, 4)
        (invitation,) = channels.issue_invitations(s, world.tenant, actor, campaign.id, group.id, [PHONE])
        s.commit()
    return campaign, target, [m["code"] for m in made], invitation["token"]


def test_the_same_phone_in_every_channel_at_once_gets_one_ballot(pg_world: World) -> None:
    world = pg_world
    campaign, target, seat_codes, token = setup(world)
    ratings = {target.id: all_levels("satisfied")}
    with world.app.test_request_context():
        challenges = [pow.issue(channels.challenge_purpose(campaign), 4)["challenge"] for _ in range(12)]

    def submit(s: Any, i: int) -> str:
        with world.app.test_request_context():
            if i < 4:  # from four seats, verified as the same phone
                return channels.submit_seat_ballot(s, world.tenant, campaign.id, seat_codes[i], PHONE, ratings)
            challenge = challenges[i]
            answer = pow.solve(challenge, 4)
            if i < 8:  # online by phone code
                return channels.submit_online_ballot(s, world.tenant, campaign.id, phone=PHONE, ratings=ratings,
                                                     challenge=challenge, answer=answer)
            # the invitation issued to the same phone
            return channels.submit_online_ballot(s, world.tenant, campaign.id, token=token, ratings=ratings,
                                                 challenge=challenge, answer=answer)

    accepted, refused = run_race(world, 12, submit)
    assert len(accepted) == 1, (accepted, refused)
    assert len(refused) == 11
    assert world.count(LedgerEntry) == 1
    with world.session() as s:
        spent_seats = s.scalar(sa.select(sa.func.count()).select_from(SeatCode).where(SeatCode.spent.is_(True)))
        spent_invitations = s.scalar(sa.select(sa.func.count()).select_from(Invitation)
                                     .where(Invitation.spent.is_(True)))
        # a refused ballot spent nothing: at most the one seat or invitation the accepted ballot used
        assert spent_seats + spent_invitations <= 1
        assert s.scalar(sa.select(sa.func.count()).select_from(SpentChallenge)) <= 1
    world.step(campaign, "close")
    assert world.count(Ballot) == 1


def test_a_seat_scanned_by_many_phones_at_once_rates_once(pg_world: World) -> None:
    world = pg_world
    campaign, target, seat_codes, _token = setup(world)

    def submit(s: Any, i: int) -> str:
        with world.app.test_request_context():
            return channels.submit_seat_ballot(s, world.tenant, campaign.id, seat_codes[0], f"1390000{i:04d}",
                                               {target.id: all_levels("fair")})

    accepted, refused = run_race(world, 10, submit)
    assert len(accepted) == 1
    assert all("座位码已经使用过" in m or "already been used" in m for m in refused), refused
    assert world.count(LedgerEntry) == 1
    with world.session() as s:
        assert s.scalars(sa.select(SeatCode.spent).where(SeatCode.code_hash == channels.code_hash(seat_codes[0]))
                         ).one() is True


def test_the_channels_tables_carry_nothing_that_links_a_ballot_to_a_person(app) -> None:
    identity = {"phone", "user_id", "rater_key", "created_at", "updated_at", "at", "seat_id", "invitation_id",
                "token_hash", "code_hash", "ballot_id", "receipt_hash", "entered_by"}
    opinion = {c.name for c in Opinion.__table__.columns}
    assert not identity & opinion
    assert not any(isinstance(c.type, sa.DateTime | sa.Time) for c in Opinion.__table__.columns)
    sheet = {c.name for c in PaperSheet.__table__.columns}
    assert not {"phone", "user_id", "rater_key", "token_hash", "code_hash"} & sheet
    for model in (SeatCode, Invitation, SpentChallenge, RaterGroup):
        names = {c.name for c in model.__table__.columns}
        assert not {"ballot_id", "batch_id", "receipt_hash", "level", "ratings"} & names, model
        targets = {fk.column.table.name for c in model.__table__.columns for fk in c.foreign_keys}
        assert not targets & {"cadre_evaluation_ballots", "cadre_evaluation_scores", "cadre_evaluation_opinions",
                              "cadre_evaluation_receipts"}, model
    assert "phone" not in {c.name for c in Base.metadata.tables["cadre_evaluation_invitations"].columns}
    opinion_fks = {fk.column.table.name for c in Opinion.__table__.columns for fk in c.foreign_keys}
    assert opinion_fks == {"tenants", "cadre_evaluation_campaigns", "cadre_evaluation_targets"}


def test_opinions_share_no_transaction_and_no_order_with_the_raters(pg_world: World) -> None:
    world = pg_world
    campaign = world.campaign(targets=12)
    world.step(campaign, "open")
    targets = world.targets(campaign)
    with world.session() as s:
        made = channels.issue_seat_codes(s, world.tenant, world.actor(s), campaign.id, 12)
        s.commit()
    # rater i rates target i from seat i and leaves opinion i, one after the other
    for i, target in enumerate(targets):
        with world.session() as s, world.app.test_request_context():
            channels.submit_seat_ballot(s, world.tenant, campaign.id, made[i]["code"], f"139000001{i:02d}",
                                        {target.id: all_levels("fair")}, {target.id: f"意见{i:02d}"})
            s.commit()
            services.move_ballots(s, services.get_campaign(s, campaign.id), batch_size=100)
            s.commit()
    world.step(campaign, "close")
    with world.session() as s:
        def xmins(table: str) -> set[str]:
            return set(s.scalars(sa.text(f"SELECT xmin::text FROM {table}")))  # noqa: S608

        identity = xmins("cadre_evaluation_ledger") | xmins("cadre_evaluation_seat_codes")
        assert xmins("cadre_evaluation_opinions")
        assert not identity & xmins("cadre_evaluation_opinions")
        by_id = [t for t in s.scalars(sa.text("SELECT text FROM cadre_evaluation_opinions ORDER BY id"))]
        by_row = [t for t in s.scalars(sa.text("SELECT text FROM cadre_evaluation_opinions ORDER BY ctid"))]
        assert len(set(s.scalars(sa.text("SELECT batch_id FROM cadre_evaluation_opinions")))) == 1
    written = [f"意见{i:02d}" for i in range(12)]
    assert sorted(by_id) == written
    assert by_id != written
    assert by_row != written
