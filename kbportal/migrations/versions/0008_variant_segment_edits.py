"""variant segment edits: a reviewer's per-segment corrections of a translated variant

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('variant_segment_edit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('source_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('translation', sa.Text(), nullable=False),
    sa.Column('edited_by', sa.Integer(), nullable=True),
    sa.Column('edited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['edited_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['document_variant.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('variant_id', 'source_sha256', name='uq_variant_segment_edit')
    )
    with op.batch_alter_table('variant_segment_edit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_variant_segment_edit_variant_id'), ['variant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('variant_segment_edit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variant_segment_edit_variant_id'))

    op.drop_table('variant_segment_edit')
