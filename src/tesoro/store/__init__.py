"""The store: the only package that writes SQL or maps rows.

`tables/` holds the SQLModel tables, one module per domain, with one datetime column
type (`UtcDateTime`: aware UTC in and out); `migrations/` is one linear Alembic chain
(`migrate.upgrade`), checked against the tables by the tests. The repository modules
(`posts`, `scores`, `catalog`, `sources`, `decisions`, `audit`, `rankers`, `library`,
`kpis`, `keys`, and the `curation`, `alerts`, `relationships` packages) are the functions
the feature packages call; they read rows by column name and share the helpers in `sql`.
`engine` makes engines and sessions, `db.open_store` wires settings to a migrated store.
"""
