"""merge intents and chat sessions branches

Revision ID: 157caa418be7
Revises: 8a9b1c2d3e4f, f1a2b3c4d5e6
Create Date: 2024-05-06 09:52:31.448129

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '157caa418be7'
down_revision: Union[str, Sequence[str], None] = ('8a9b1c2d3e4f', 'f1a2b3c4d5e6')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
