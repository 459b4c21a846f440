"""One ballot per person under concurrent submissions, and anonymity on the stored rows: no column, id order,
row order or PostgreSQL transaction id (xmin) links a ballot to the ledger, a phone or a receipt."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import Ballot, LedgerEntry, Receipt, Score
from saas.db import Base
from tests.blueprints.cadre_evaluation.conftest import World, all_levels

PHONE = "13812349876"


def test_ballot_tables_carry_no_identity_and_no_time(app) -> None:
    for model in (Ballot, Score, Receipt):
        columns = {c.name for c in model.__table__.columns}
        assert not {"phone", "user_id", "rater_key", "created_at", "voted_at", "at"} & columns, model
        assert not any(isinstance(c.type, sa.DateTime | sa.Time) for c in model.__table__.columns), model
        assert not any(fk.column.table.name == "cadre_evaluation_ledger" or fk.column.table.name == "users"
                       for c in model.__table__.columns for fk in c.foreign_keys), model
    ledger = {c.name for c in Base.metadata.tables["cadre_evaluation_ledger"].columns}
    assert "phone" not in ledger
    assert not {"ballot_id", "receipt_hash", "batch_id"} & ledger


def test_the_ledger_keeps_a_keyed_hash_never_the_phone(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    world_a.step(campaign, "open")
    (t1,) = world_a.targets(campaign)
    world_a.vote(campaign, PHONE, {t1.id: all_levels("satisfied")})
    other = world_a.campaign(targets=1)
    world_a.step(other, "open")
    world_a.vote(other, PHONE, {world_a.targets(other)[0].id: all_levels("satisfied")})
    with world_a.session() as s:
        keys = list(s.scalars(sa.select(LedgerEntry.rater_key)))
        dumped = " ".join(str(v) for e in s.scalars(sa.select(LedgerEntry)) for v in vars(e).values())
    assert PHONE not in dumped
    assert "9876" not in dumped
    # each campaign has its own secret: the same phone is not traceable across campaigns
    assert len(set(keys)) == 2


def _row_order(world: World, model: type, order: str) -> list[int]:
    with world.session() as s:
        if world.app.config["BACKEND"] == "postgres":
            sql = f"SELECT target_id FROM {model.__tablename__} ORDER BY {order}"  # noqa: S608
        else:
            sql = f"SELECT target_id FROM {model.__tablename__} ORDER BY {order.replace('ctid', 'rowid')}"  # noqa: S608
        return [int(r) for r in s.scalars(sa.text(sql))]


def test_ballots_are_stored_in_an_order_that_does_not_follow_the_voters(world_a: World) -> None:
    campaign = world_a.campaign(targets=12)
    world_a.step(campaign, "open")
    targets = world_a.targets(campaign)
    # voter i rates target i only, one after the other: the submission order is the targets' order
    for i, target in enumerate(targets):
        world_a.vote(campaign, f"139000000{i:02d}", {target.id: all_levels("fair")}, batch_size=100)
    world_a.step(campaign, "close")
    submitted = [t.id for t in targets]
    by_id = _row_order(world_a, Ballot, "id")
    by_row = _row_order(world_a, Ballot, "ctid")
    assert sorted(by_id) == sorted(submitted)
    assert by_id != submitted
    assert by_row != submitted
    with world_a.session() as s:
        batches = set(s.scalars(sa.select(Ballot.batch_id)))
    assert len(batches) == 1


def test_ledger_and_ballot_rows_never_share_a_transaction_id(pg_world: World) -> None:
    world = pg_world
    campaign = world.campaign(targets=3)
    world.step(campaign, "open")
    targets = world.targets(campaign)
    for i in range(5):
        world.vote(campaign, f"1390000001{i}", {t.id: all_levels("satisfied") for t in targets}, batch_size=2)
    world.step(campaign, "close")
    with world.session() as s:
        def xmins(table: str) -> set[str]:
            return set(s.scalars(sa.text(f"SELECT xmin::text FROM {table}")))  # noqa: S608
        ledger = xmins("cadre_evaluation_ledger")
        for table in ("cadre_evaluation_ballots", "cadre_evaluation_scores", "cadre_evaluation_receipts"):
            assert xmins(table), table
            assert not ledger & xmins(table), table
        assert s.scalar(sa.text("SELECT count(*) FROM cadre_evaluation_pending")) == 0


def test_one_ballot_per_person_under_concurrent_submissions(pg_world: World) -> None:
    world = pg_world
    campaign = world.campaign(targets=2)
    world.step(campaign, "open")
    t1, t2 = world.targets(campaign)
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    accepted: list[str] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def submit(i: int) -> None:
        try:
            with world.session() as s:
                barrier.wait(timeout=30)
                try:
                    code = services.submit_ballot(s, world.tenant, campaign.id, PHONE,
                                                  {t1.id: all_levels("satisfied"), t2.id: all_levels("fair")})
                    s.commit()
                    accepted.append(code)
                except services.Refused as err:
                    s.rollback()
                    refused.append(err.message)
        except BaseException as err:
            failed.append(err)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed, failed
    assert len(accepted) == 1
    assert len(refused) == threads_n - 1
    assert world.count(LedgerEntry) == 2
    world.step(campaign, "close")
    assert world.count(Ballot) == 2
