"""Operations: structured logs, Prometheus metrics and the scheduler's lease (docs/operations.md).

It sits with the features (below `api` and `jobs`, above `search`, the collectors and the store), so
both entry points can use it and it can read the store and the quota plans.
"""
