"""units.name_folded: the unit's name without diacritics, for registry search

Revision ID: d5e1a0c3b7f2
Revises: c47c2deb1454
Create Date: 2026-11-28 01:35:00

Reviewed by hand: one column, filled for existing rows here with the same folding as
ktt_market.core.text.fold (copied, so that this migration does not change when the app does).
The registry searches it with LIKE; a province's registry is a few thousand rows, so no index.
"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e1a0c3b7f2'
down_revision = 'c47c2deb1454'
branch_labels = None
depends_on = None

_SPACES = re.compile(r"\s+")
BATCH = 1000


def _fold(value):
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped.lower()).strip()


def upgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_folded', sa.String(length=255), server_default='', nullable=False))

    conn = op.get_bind()
    units = sa.table('units', sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('name_folded', sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(units.c.id, units.c.name).where(units.c.id > last).order_by(units.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            units.update().where(units.c.id == sa.bindparam('uid')).values(name_folded=sa.bindparam('folded')),
            [{'uid': r.id, 'folded': _fold(r.name or '')} for r in rows],
        )
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('name_folded')
