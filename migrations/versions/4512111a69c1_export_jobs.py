"""export jobs

Revision ID: 4512111a69c1
Revises: b4ded8ba505d
Create Date: 2026-11-27 23:10:00

Reviewed by hand: one row per export a user asked for (what, how far the worker got, where the file
is, until when). Workers find waiting and abandoned jobs by (status, created_at), the list page a
user's jobs by (user_id, created_at), the cleanup expired ones by expires_at. No data to move.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4512111a69c1'
down_revision = 'b4ded8ba505d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='export_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('storage_key', sa.String(length=80), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_jobs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_export_jobs_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_export_jobs_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_expires_at'))
        batch_op.drop_index('ix_export_jobs_user_created')
        batch_op.drop_index('ix_export_jobs_status_created')

    op.drop_table('export_jobs')
