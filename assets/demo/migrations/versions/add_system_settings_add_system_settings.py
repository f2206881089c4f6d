"""add system settings

Revision ID: add_system_settings
Revises: 
Create Date: 2024-07-01 10:20:44.871203

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'add_system_settings'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = ('system_settings',)
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('system_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.execute(
        "INSERT INTO system_settings (key, value, description) VALUES "
        "('maintenance_mode', 'false', 'Reply with the maintenance message to every user'), "
        "('default_reply', 'Sorry, I did not understand that.', 'Fallback reply when no intent matches'), "
        "('operator_handover_keyword', 'operator', 'Keyword that hands a chat session to a human')"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('system_settings')
