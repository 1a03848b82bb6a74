"""variant reviewed metadata: the source title and description a reviewer approved

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('document_variant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_title_source', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('reviewed_description_source', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('document_variant', schema=None) as batch_op:
        batch_op.drop_column('reviewed_description_source')
        batch_op.drop_column('reviewed_title_source')
