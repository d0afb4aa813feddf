"""Customer accounts: /api/v1/admin/customers (administrators).

List (filtered by ``active`` and part of the ``email``, a page at a time), read, deactivate or
reactivate (PATCH ``active``), erase the personal data (POST .../erase) and lift a login
lockout (POST .../unlock). Every answer renders a customer through ``user_document``, the shape
``helpdesk users ... --json`` prints too.
"""

from __future__ import annotations

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import structure
from entrypoints.http.pagination import page_request
from entrypoints.http.params import bool_param, path_uuid
from entrypoints.views.pages import BY_CREATION, customer_page_json, customer_position
from helpdesk_core.documents import user_document
from helpdesk_core.ports.repositories import CustomerFilter
from helpdesk_core.usecases.customers import CustomerService


@attrs.frozen
class CustomerPatch:
    active: bool


@attrs.define
class CustomerResources:
    """Everything the customer resources share."""

    customers: CustomerService
    converter: cattrs.Converter
    page_default: int
    page_max: int


class Customers:
    def __init__(self, shared: CustomerResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, BY_CREATION)
        where = CustomerFilter(
            active=bool_param(req, "active"), email_contains=req.get_param("email")
        )
        result = self._s.customers.list(
            principal(req),
            where,
            customer_position(page.after) if page.after is not None else None,
            page.limit,
        )
        resp.media = customer_page_json(result)


class Customer:
    def __init__(self, shared: CustomerResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, customer_id: str) -> None:
        resp.media = user_document(self._s.customers.get(principal(req), path_uuid(customer_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, customer_id: str) -> None:
        actor = principal(req)
        patch = structure(self._s.converter, req.get_media(), CustomerPatch)
        changed = self._s.customers.set_active(actor, path_uuid(customer_id), patch.active)
        resp.media = user_document(changed)


class Erase:
    def __init__(self, shared: CustomerResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, customer_id: str) -> None:
        erased = self._s.customers.erase(principal(req), path_uuid(customer_id))
        resp.media = user_document(erased)


class Unlock:
    def __init__(self, shared: CustomerResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, customer_id: str) -> None:
        self._s.customers.unlock(principal(req), path_uuid(customer_id))
        resp.status = falcon.HTTP_204


def add_customer_routes(app: falcon.App, prefix: str, shared: CustomerResources) -> None:
    base = f"{prefix}/admin/customers"
    app.add_route(base, Customers(shared))
    app.add_route(f"{base}/{{customer_id}}", Customer(shared))
    app.add_route(f"{base}/{{customer_id}}/erase", Erase(shared))
    app.add_route(f"{base}/{{customer_id}}/unlock", Unlock(shared))
