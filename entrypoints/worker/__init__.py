"""The event worker: the loop around ``EventWorker`` for a process or a thread."""
