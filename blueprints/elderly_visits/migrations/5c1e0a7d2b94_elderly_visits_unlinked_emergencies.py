"""elderly visits: an emergency without a resident (a neighbour's report nobody matched), its source and reporter

Revision ID: 5c1e0a7d2b94
Revises: 37bf3ef9c76c
Create Date: 2026-12-06 02:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '5c1e0a7d2b94'
down_revision = '37bf3ef9c76c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('elderly_visits_emergencies', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.BIGINT(), nullable=True)
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='worker', nullable=False))
        batch_op.add_column(sa.Column('reported_name', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('reported_place', sa.String(length=100), server_default='', nullable=False))
        # existing emergencies were raised for a resident: no candidates
        batch_op.add_column(sa.Column('candidate_ids', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('reporter_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('linked_at', saas.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('linked_by_id', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_elderly_visits_emergencies_tenant_id_linked_by_id_users'), 'users',
                                    ['tenant_id', 'linked_by_id'], ['tenant_id', 'id'])
        batch_op.create_check_constraint(op.f('ck_elderly_visits_emergencies_source'),
                                         "source IN ('worker','neighbour','family')")


def downgrade() -> None:
    # an emergency nobody linked has no resident to keep: it cannot survive the downgrade
    op.execute("DELETE FROM elderly_visits_emergency_actions WHERE emergency_id IN "
               "(SELECT id FROM elderly_visits_emergencies WHERE person_id IS NULL)")
    op.execute("DELETE FROM elderly_visits_emergencies WHERE person_id IS NULL")
    with op.batch_alter_table('elderly_visits_emergencies', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_elderly_visits_emergencies_source'), type_='check')
        batch_op.drop_constraint(op.f('fk_elderly_visits_emergencies_tenant_id_linked_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('linked_by_id')
        batch_op.drop_column('linked_at')
        batch_op.drop_column('reporter_phone')
        batch_op.drop_column('candidate_ids')
        batch_op.drop_column('reported_place')
        batch_op.drop_column('reported_name')
        batch_op.drop_column('source')
        batch_op.alter_column('person_id', existing_type=sa.BIGINT(), nullable=False)
