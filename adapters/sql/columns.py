"""The MetaData, column types and columns every table of the schema (``tables.py``,
``sla_tables.py``) is built from."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[Any]):
    """A timezone-aware datetime stored as UTC, read back as UTC on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: the helpdesk stores UTC only")
        value = value.astimezone(_UTC)
        # SQLite keeps wall-clock text: store UTC without an offset, attach UTC on read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)


_UTC = UTC


def enum_column(enum_cls: type, name: str) -> sa.Enum:
    # Non-native: a VARCHAR with a named CHECK, identical on both dialects and downgrade-safe.
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def version() -> sa.Column[Any]:
    # Optimistic locking: every UPDATE names the version it read and bumps it.
    return sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))


# The one MetaData of the schema; names follow one convention on both dialects.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
