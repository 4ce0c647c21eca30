"""Alembic environment: runs the packaged migrations on a connection the store hands over.

Owns: configuring Alembic's migration context. ``Store.migrate`` opens the transaction (and its
lock) and passes the connection in ``config.attributes["connection"]``; offline (SQL script)
mode is not supported.

Must not: read configuration files or the environment; configure logging.
"""

from __future__ import annotations

from alembic import context

from cloudkeep.storage.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("cloudkeep migrations run through Store.migrate() with a live connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
