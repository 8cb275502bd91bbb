"""Run jobs on this machine: ``inline``, ``thread`` or ``process`` (the default).

- ``backend.py``: :class:`LocalExecutionBackend`, the ``ExecutionBackend`` over one runner.
- ``options.py``: :class:`LocalExecutionOptions`, the one declaration of the local options.
- ``runner.py``: the :class:`~ingestkit_core.execution.local.runner.Runner` protocol each strategy implements.
- ``inline.py``, ``threads.py``, ``pool.py``: the three runners (``pool`` drives child processes).
- ``child.py``: the loop a child process runs; ``channel.py``: the framed socket between them.
- ``table.py``: the job table every runner shares.
"""

from ingestkit_core.execution.local.backend import LocalExecutionBackend
from ingestkit_core.execution.local.options import LocalExecutionOptions, Strategy

__all__ = ["LocalExecutionBackend", "LocalExecutionOptions", "Strategy"]
