"""add sync status to rich menus

Revision ID: add_sync_status_to_rich_menus
Revises: add_system_settings
Create Date: 2024-07-03 16:05:58.390417

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'add_sync_status_to_rich_menus'
down_revision: Union[str, Sequence[str], None] = 'add_system_settings'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('rich_menus', sa.Column('sync_status', sa.String(length=20), server_default='pending', nullable=False))
    op.add_column('rich_menus', sa.Column('synced_at', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_rich_menus_sync_status'), 'rich_menus', ['sync_status'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_rich_menus_sync_status'), table_name='rich_menus')
    op.drop_column('rich_menus', 'synced_at')
    op.drop_column('rich_menus', 'sync_status')
