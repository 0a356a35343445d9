"""Fixture worlds shared across test areas: hand-made stores the tests of several folders build on.

One importable package (pytest puts `tests/` on sys.path, see `pythonpath` in pyproject.toml) instead
of a helper module per folder, so an alerts test can seed the curator's world without copying it.

- `worlds.common`: the catalog ids and post ids every world reads back after seeding.
- `worlds.api`: two brands, products, a planned queue/gallery and a key per role.
- `worlds.alerts`: settings with alert rules and a `Seeder` of posts, scores and sources.
- `worlds.curator`: a catalog, hand-made scored posts (`Spec`), a tiny deterministic encoder.
- `worlds.insights`: the hand-counted November world of the ROR and KPI tests.
"""
