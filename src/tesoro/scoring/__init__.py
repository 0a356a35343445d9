"""Per-post scores: sentiment, relevance, product, content type, safety, spam, engagement.

`pipeline` is the stage that reads unscored posts through the store and saves score sets;
everything else computes from its arguments (texts, embeddings, learned weights) and never
reads the store. `encoders/` holds the sentence encoder and its backends, `heads` and
`adapter` the small trained models on top of it, `training` and `branch_training` train them.
"""

__all__: list[str] = []
