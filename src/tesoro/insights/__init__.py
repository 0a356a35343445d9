"""Insights: ROR leaderboards, person pages, KPIs, ROE and purchases, for the API, the CLI and charts.

service.py       the functions the API routes and CLI commands call (names the three below)
scope.py         the window and the brand, from user input
people.py        ROR per person: the table, leaderboard, person page, identities, logged events
reports.py       volume, share of voice, KPIs, ROE, purchases
events.py        which facts become which relationship events, and whose events belong together
relationship.py  the ROR formula, its breakdown per event and its history (pure)
kpis.py          the KPI, ROE and purchase formulas (pure)
charts.py        offline SVG charts
orders.py        the orders CSV import

The queries are in `tesoro.store.relationships` and `tesoro.store.kpis`.
"""
