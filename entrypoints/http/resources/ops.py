"""Operational routes: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import falcon

from helpdesk_core.usecases.health import CheckReadiness, HealthStatus

PUBLIC_READ = frozenset({"on_get", "on_head"})


class Liveness:
    """GET /health/live: the process is up and answering. Touches no dependency."""

    public = PUBLIC_READ

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}

    on_head = on_get


class Readiness:
    """GET /health/ready: the dependency map; 503 while a required dependency is down."""

    public = PUBLIC_READ

    def __init__(self, check_readiness: CheckReadiness) -> None:
        self._check = check_readiness

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        readiness = self._check()
        resp.media = {
            "status": readiness.status.value,
            "checks": {
                name: {k: v for k, v in attrs.asdict(result).items() if v is not None}
                | {"status": result.status.value}
                for name, result in readiness.checks.items()
            },
        }
        if readiness.status is HealthStatus.DOWN:
            resp.status = falcon.HTTP_503
            resp.set_header("Retry-After", "5")

    on_head = on_get


class Metrics:
    """GET /metrics: Prometheus text exposition."""

    public = PUBLIC_READ

    def __init__(self, render: Callable[[], tuple[bytes, str]]) -> None:
        self._render = render

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data, resp.content_type = self._render()


class OpenApi:
    """GET /openapi.json: the API description, loaded once at start."""

    public = PUBLIC_READ

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document
