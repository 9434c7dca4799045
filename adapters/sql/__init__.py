"""SQL databases (PostgreSQL, SQLite) over ADBC."""

from adapters.sql.adapter import SqlAdapter, SqlOptions

__all__ = ["SqlAdapter", "SqlOptions"]
