"""Alembic revisions of the OMS SQL schema (one history for SQLite and PostgreSQL).

Used programmatically by ``eventstore.upgrade_database``; no ``alembic.ini`` is needed.
"""
