"""Classification metrics without scikit-learn (not a runtime dependency).

Each task reports its official metric: macro-averaged recall for sentiment
(SemEval-2017 / TweetEval), macro-F1 for offensive and UMSAB, accuracy for product.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Report", "evaluate"]

Report = dict[str, float]


def evaluate(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None) -> Report:
    """Macro recall, macro F1 and accuracy over `labels` (default: every label in `y_true`).

    A class that never occurs in `y_true` is left out of the macro averages, as in
    TweetEval's evaluation script, so a spurious prediction cannot create a zero-recall class.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no examples to evaluate")
    classes = list(labels) if labels is not None else sorted(set(y_true))
    recalls: list[float] = []
    f1s: list[float] = []
    for cls in classes:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == cls and p == cls)
        gold = sum(1 for t in y_true if t == cls)
        predicted = sum(1 for p in y_pred if p == cls)
        if gold == 0:
            continue
        recall = tp / gold
        precision = tp / predicted if predicted else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    correct = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p)
    return {
        "macro_recall": sum(recalls) / len(recalls) if recalls else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "accuracy": correct / len(y_true),
        "n": float(len(y_true)),
    }
