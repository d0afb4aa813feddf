"""gunicorn settings file of the raw baseline (``-c python:benchmarks.baseline_gunicorn``).

The baseline runs under the gunicorn settings of ``helpdesk serve``, its worker class
included: ``FairThreadWorker`` (entrypoints/serving/fair_accept.py), which spreads keep-alive
connections evenly over the workers, with the master's hooks that give each worker its slot.
That is server plumbing, not the product's request path: no core, no adapters.
"""

from __future__ import annotations

from entrypoints.serving.fair_accept import master_hooks

pre_fork, child_exit = master_hooks()  # loaded by the master, before it forks
