"""Alembic environment. ``leaderboards.db.upgrade`` hands over an open connection (inside its own
transaction, holding the migration lock); the ``alembic`` command line gets the URL from
``-x url=...``, ``$TTTD_LEADERBOARD_URL`` or the default SQLite file."""

from alembic import context

from leaderboards.schema import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
    context.configure(
        connection=conn, target_metadata=Base.metadata, render_as_batch=True, transactional_ddl=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported; run against a database")
elif connection is not None:
    _run(connection)
else:
    from leaderboards.db import get_engine

    url = context.get_x_argument(as_dictionary=True).get("url")
    engine = get_engine(url, migrate=False)
    with engine.connect() as conn:
        conn = conn.execution_options(tttd_write=True)
        with conn.begin():
            _run(conn)
