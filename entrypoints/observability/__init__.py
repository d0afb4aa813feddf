"""Logs, metrics and tracing hooks shared by the HTTP app, the CLI and the worker."""
