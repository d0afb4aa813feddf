"""One database connection per request: the unit of work's scope around the whole request."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import falcon

from helpdesk_core.ports.uow import UnitOfWork


class UnitOfWorkScope:
    """Opens the unit of work's scope before authentication and closes it after the answer.

    Authentication, the use case and the rendering of its answer (names, directory) then share
    one pooled connection instead of taking one each. Falcon runs ``process_response`` for
    every request whose ``process_request`` ran, errors included, so the connection always
    goes back to the pool.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        scope: AbstractContextManager[None] = self._uow.scope()
        scope.__enter__()
        req.context.uow_scope = scope

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        scope = getattr(req.context, "uow_scope", None)
        if scope is not None:
            req.context.uow_scope = None
            scope.__exit__(None, None, None)
