"""add operator name to chat sessions

Revision ID: a9b8c7d6e5f4
Revises: 157caa418be7
Create Date: 2024-06-18 13:37:12.062975

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'a9b8c7d6e5f4'
down_revision: Union[str, Sequence[str], None] = '157caa418be7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # SQLite cannot ALTER a column in place; batch mode recreates the table.
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operator_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('handed_over_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_chat_sessions_operator_name'), ['operator_name'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_sessions_operator_name'))
        batch_op.drop_column('handed_over_at')
        batch_op.drop_column('operator_name')
