"""Curation: which posts are treasures, the review workflow, and learning from coordinators' decisions.

treasure.py         the treasure score of a post, with its explanation (pure)
dedupe.py           near-duplicate groups across accounts and platforms (review each content once)
ranking.py          rank_posts: scores, groups and search documents of new posts, into curation items
queue.py            the single review workflow: states, decisions (single and bulk), tags, undo
rights.py           usage-rights status set by hand, as decisions of the same workflow
feedback.py         a per-brand ranker that re-weights the treasure score, learned from decisions
relevance_model.py  relevance weights relearned from decisions and corrections

SQL lives in the store (`store.curation`, `store.decisions`, `store.rankers`); the library
search over the curated posts is `tesoro.search`.
"""
