"""The HTTP routes, one module-level `APIRouter` per resource group; `tesoro.api.app` lists them.

health, posts (posts, sources, authors, the overview), keys (the caller, API keys,
settings), queue (the review queue, decisions, tags, products, rights), library,
ranker, insights (KPIs, ROR, identities, logged events), charts (SVG), alerts,
gallery (the public feed, widget and embed), listening (the listening-query preview), ui
(pages, login, /docs) and ui_admin (the alerts and settings pages).
"""
