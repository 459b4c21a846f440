"""elderly visits: a visit's photo

Revision ID: 9a4b7c2e1f08
Revises: 5c1e0a7d2b94
Create Date: 2026-12-06 02:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import saas.db

revision = '9a4b7c2e1f08'
down_revision = '5c1e0a7d2b94'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('elderly_visits_visit_photos',
    sa.Column('visit_id', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', saas.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumb', sa.LargeBinary(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'uploaded_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_elderly_visits_visit_photos_tenant_id_uploaded_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'visit_id'], ['elderly_visits_visits.tenant_id', 'elderly_visits_visits.id'], name=op.f('fk_elderly_visits_visit_photos_tenant_id_visit_id_elderly_visits_visits')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_elderly_visits_visit_photos_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_elderly_visits_visit_photos')),
    sa.UniqueConstraint('tenant_id', 'visit_id', name=op.f('uq_elderly_visits_visit_photos_tenant_id_visit_id'))
    )


def downgrade() -> None:
    op.drop_table('elderly_visits_visit_photos')
