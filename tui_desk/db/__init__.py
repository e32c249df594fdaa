"""Storage: typed models, engine/session factory, Alembic migrations."""
