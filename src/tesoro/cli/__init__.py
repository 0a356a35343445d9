"""The `tesoro` command line (`main.app`), one module per command group.

Commands stay thin: they load settings, open the store and call the functions that do the work.
"""

__all__: list[str] = []
