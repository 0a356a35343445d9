"""Training the bundled weights from labelled data (`tesoro train`); never run while scoring.

`recipes` reproduces each shipped head and branch (data sets, weighting, validation); `branch`
fine-tunes the encoder's top layers for a sentiment branch. Both need torch, imported inside
the functions that train.
"""

from tesoro.scoring.training.branch import BranchConfig, branch_features, train_branch
from tesoro.scoring.training.recipes import (
    OFFENSIVE_LABELS,
    SEMEVAL_LIMIT,
    SENTIMENT_INPUTS,
    SENTIMENT_POOLED_LAYERS,
    embed_cached,
    read_jsonl,
    sentiment_training_data,
    train_offensive,
    train_sentiment,
    train_sentiment_branch,
    validation_sets,
)

__all__ = [
    "OFFENSIVE_LABELS",
    "SEMEVAL_LIMIT",
    "SENTIMENT_INPUTS",
    "SENTIMENT_POOLED_LAYERS",
    "BranchConfig",
    "branch_features",
    "embed_cached",
    "read_jsonl",
    "sentiment_training_data",
    "train_branch",
    "train_offensive",
    "train_sentiment",
    "train_sentiment_branch",
    "validation_sets",
]
