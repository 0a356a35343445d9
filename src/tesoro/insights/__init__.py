"""Insights: ROR leaderboards, person pages, KPIs, ROE and purchases, for the API, the CLI and charts.

The formulas live in `tesoro.insights.relationship` and `tesoro.insights.kpis`, the
queries in `tesoro.store.relationships` and `tesoro.store.kpis`; `service` wires
them to an engine and settings, `charts` draws offline SVG, `orders` reads the
orders CSV and `commands` is the `tesoro insights` / `tesoro orders` command line.
"""
