"""PostgreSQL persistence: tables (SQLModel), engine and sessions, migrations live in app/migrations."""
