"""worker heartbeats

Revision ID: b4ded8ba505d
Revises: ff2b8889d779
Create Date: 2026-11-27 22:45:00

Reviewed by hand: one row per worker host, upserted by the periodic heartbeat task; the admin health
page reads it. No data to move.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4ded8ba505d'
down_revision = 'ff2b8889d779'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('hostname', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beats', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hostname', name=op.f('pk_worker_heartbeats'))
    )


def downgrade():
    op.drop_table('worker_heartbeats')
