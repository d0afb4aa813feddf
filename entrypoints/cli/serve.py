"""``helpdesk serve``: the REST API under gunicorn.

The master prepares what every worker must share before forking: the metrics folder (wiped,
so dead workers from a previous run are not summed), the development secret, and migrations
when auto-migrate is on. Workers build their own engines and clients after the fork.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs
import click

from entrypoints.cli.failures import preflight, wait_option, warn_if_mail_is_not_sent
from entrypoints.cli.main import CliState, cli_errors
from entrypoints.config import ConfigError, Settings, ensure_secret_keys
from entrypoints.config.settings import large_bodies

log = logging.getLogger("helpdesk.serve")


def prepare_metrics_dir(configured: str | None) -> str:
    """A fresh, empty multi-process metrics folder, exported for prometheus_client."""
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="helpdesk-metrics-"))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return str(path)


def _logger_class() -> type:
    """gunicorn's logger, sending its lines through our handler (JSON in production)."""
    from gunicorn.glogging import Logger

    class HelpdeskGunicornLogger(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log_ in (self.error_log, self.access_log):
                for handler in list(log_.handlers):
                    if getattr(handler, "_gunicorn", False):
                        log_.removeHandler(handler)
                log_.propagate = True

    return HelpdeskGunicornLogger


def freeze_startup_heap(_worker: Any = None) -> None:
    """Move every object alive once a worker has loaded the app (modules, SQLAlchemy's
    tables and compiled statements, the app itself) out of the garbage collector's reach, so
    that no collection walks them again.

    They live as long as the worker, and an oldest-generation collection that walks them all
    holds the GIL while every request of the worker waits (docs/performance.md,
    "Measurements behind the code").
    """
    gc.collect()
    gc.freeze()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings for ``settings`` (hooks included)."""
    from entrypoints.observability.metrics import mark_process_dead
    from entrypoints.serving.fair_accept import FairThreadWorker, master_hooks

    pre_fork, release_slot = master_hooks()  # before the fork: one table for every worker

    def child_exit(server: Any, worker: Any) -> None:
        release_slot(server, worker)
        mark_process_dead(worker.pid)

    # gthread keeps connections alive; FairThreadWorker spreads them evenly (fair_accept) and
    # reads each request in its poller, under a deadline, before a thread takes it (read_deadline)
    worker_class = FairThreadWorker.configured(
        read_timeout=settings.request_read_timeout,
        max_body_bytes=settings.max_body_bytes,
        large_bodies=large_bodies(settings),  # received mail, messages with files
    )
    return {
        "bind": [settings.bind],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": worker_class if settings.threads > 1 else "sync",
        "timeout": settings.worker_timeout,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,  # our middleware writes one structured line per request
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": "helpdesk",
        "control_socket_disable": True,  # several servers on one host must not share it
        "logger_class": _logger_class(),
        "pre_fork": pre_fork,
        "child_exit": child_exit,
        "post_worker_init": freeze_startup_heap,
    }


def run_gunicorn(settings: Settings) -> None:
    """Start gunicorn in this process with the app factory; returns when it stops."""
    from gunicorn.app.base import BaseApplication

    class HelpdeskServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from entrypoints.http.app import serving_app

            return serving_app(settings)

    HelpdeskServer().run()


@click.command()
@click.option("--bind", help="HOST:PORT to listen on [HELPDESK_BIND].")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes [HELPDESK_WORKERS].")
@click.option(
    "--threads", type=click.IntRange(1, 64), help="Threads per worker [HELPDESK_THREADS]."
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(1, 300),
    help="Seconds a client has to send a whole request [HELPDESK_REQUEST_READ_TIMEOUT].",
)
@click.option(
    "--migrate/--no-migrate",
    default=None,
    help="Apply migrations before starting [HELPDESK_AUTO_MIGRATE].",
)
@wait_option
@click.pass_obj
@cli_errors
def serve(
    state: CliState,
    bind: str | None,
    workers: int | None,
    threads: int | None,
    read_timeout: float | None,
    migrate: bool | None,
    wait: float,
) -> None:
    """Serve the REST API with gunicorn.

    Each worker reads a request whole before a thread takes it; one not whole within
    --read-timeout seconds of the connection's start is answered 408 and closed.

    Before starting, every configured backend's driver must load and the database must answer
    (one that refuses or does not answer yet is awaited for --wait seconds); otherwise it exits
    1 with one line naming the cause.
    """
    from entrypoints.config import VARIABLES
    from entrypoints.observability.logging import configure_logging

    settings = state.settings
    changes: dict[str, Any] = {}
    if bind is not None:
        parse = next(v for v in VARIABLES if v.field == "bind").parse
        try:
            changes["bind"] = parse(bind)
        except ValueError:
            raise ConfigError("--bind", bind, "HOST:PORT, e.g. 127.0.0.1:8000") from None
    if workers is not None:
        changes["workers"] = workers
    if threads is not None:
        changes["threads"] = threads
    if read_timeout is not None:
        changes["request_read_timeout"] = read_timeout
    if migrate is not None:
        changes["auto_migrate"] = migrate
    settings = attrs.evolve(settings, **changes)

    configure_logging(settings.log_level, settings.json_logs)
    preflight(settings, wait)  # before gunicorn: a missing driver would only kill its workers
    warn_if_mail_is_not_sent(settings)
    settings = ensure_secret_keys(settings)
    prepare_metrics_dir(settings.metrics_dir)
    if settings.auto_migrate:
        from entrypoints.bootstrap import migrate_to_head

        log.info("database migrated to %s", migrate_to_head(settings))
    log.info(
        "serving on http://%s (%d workers x %d threads)",
        settings.bind,
        settings.workers,
        settings.threads,
    )
    run_gunicorn(settings)
