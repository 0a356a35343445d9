"""Collecting posts: one adapter per platform behind one contract (`base.Collector`).

`runner` stores each page with its cursor in one transaction and keeps each source's health,
`registry` builds the adapter a configured source needs, `importer` loads posts from files.
Adapters return plain `tesoro.models` values and never touch the store themselves.
"""

__all__: list[str] = []
