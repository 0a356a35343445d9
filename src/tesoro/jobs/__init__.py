"""When work runs, not what it does: job functions (`tasks`), the scheduler and the RQ queue and worker."""

__all__: list[str] = []
