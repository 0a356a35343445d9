"""Per-post scores: sentiment, relevance, product, content type, safety, spam, engagement.

`pipeline` is the stage that reads unscored posts through the store and saves score sets;
the scorers compute from their arguments (texts, embeddings, learned weights); the one other
read is `RelevanceScorer.learned_profiles`, which fetches each brand's learned weights.
`encoders/` holds the sentence encoder and its backends, `heads` and `adapter` the small
trained models on top of it, `training/` trains them.
"""

__all__: list[str] = []
