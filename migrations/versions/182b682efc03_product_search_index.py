"""product search index

Revision ID: 182b682efc03
Revises: 37f6e53ff1cc
Create Date: 2026-11-27 21:14:10.000000

Hand-written: PostgreSQL-only indexes the models cannot describe portably (a trigram GIN index and
partial indexes over published products). migrations/env.py leaves them out of autogenerate's
comparison by name (include_object), so keep that list in step with this file.
On SQLite, the embedded default, search uses LIKE over products.search_text and needs nothing here.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "182b682efc03"
down_revision = "37f6e53ff1cc"
branch_labels = None
depends_on = None

# Catalogue sorts over 500,000 products need an index to stop after one page.
_INDEXES = {
    "ix_products_search_trgm": "USING gin (search_text gin_trgm_ops) WHERE published",
    # Names starting with the query, in order, for searches with very many matches (catalog/search.py).
    "ix_products_search_prefix": '((search_text COLLATE "C"), id) WHERE published',
    "ix_products_published_price": "(price_vnd, id) WHERE published",
    "ix_products_published_rating": "(rating_avg DESC NULLS LAST, id DESC) WHERE published",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON products {definition}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other objects may use it, and dropping it needs more rights than creating.
