"""Who follows a ticket over HTTP (staff only; ``usecases/tickets/followers.py`` has the rules).

- ``GET /staff/tickets/{id}/followers``: the assignee, then the followers;
- ``PUT`` / ``DELETE /staff/tickets/{id}/followers/me``: the caller follows or stops;
- ``PUT`` / ``DELETE /staff/tickets/{id}/followers/{user_id}``: a lead or an administrator
  adds or removes someone (an agent naming anyone but themselves: 403).

Every answer is the list as it stands after the call, ``{"items": [...]}``; following twice
or unfollowing a ticket one does not follow answers it unchanged (200, nothing recorded).
"""

from __future__ import annotations

import uuid

import falcon

from entrypoints.http.auth import principal
from entrypoints.http.params import path_uuid
from helpdesk_core.documents import followers_document
from helpdesk_core.domain.principal import Principal
from helpdesk_core.policies import require_staff
from helpdesk_core.usecases.tickets import TicketService


def _staff(req: falcon.Request, action: str) -> Principal:
    actor = principal(req)
    require_staff(actor, action)
    return actor


class TicketFollowersResource:
    """GET /staff/tickets/{id}/followers."""

    def __init__(self, tickets: TicketService) -> None:
        self._tickets = tickets

    def on_get(self, req: falcon.Request, resp: falcon.Response, ticket_id: str) -> None:
        actor = _staff(req, "see who follows a ticket")
        resp.media = followers_document(self._tickets.followers(actor, path_uuid(ticket_id)))


class FollowingResource:
    """PUT/DELETE /staff/tickets/{id}/followers/me, and (``named``) .../followers/{user_id}."""

    def __init__(self, tickets: TicketService, named: bool) -> None:
        self._tickets = tickets
        self._named = named

    def _user(self, user_id: str | None) -> uuid.UUID | None:
        return path_uuid(user_id, "user_id") if self._named and user_id is not None else None

    def on_put(
        self, req: falcon.Request, resp: falcon.Response, ticket_id: str, user_id: str | None = None
    ) -> None:
        actor = _staff(req, "follow tickets")
        found = self._tickets.follow(actor, path_uuid(ticket_id), self._user(user_id))
        resp.media = followers_document(found)

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, ticket_id: str, user_id: str | None = None
    ) -> None:
        actor = _staff(req, "unfollow tickets")
        found = self._tickets.unfollow(actor, path_uuid(ticket_id), self._user(user_id))
        resp.media = followers_document(found)


def add_follower_routes(app: falcon.App, prefix: str, tickets: TicketService) -> None:
    base = f"{prefix}/staff/tickets/{{ticket_id}}/followers"
    app.add_route(base, TicketFollowersResource(tickets))
    # A literal segment is matched before a field: "me" never reaches the {user_id} route.
    app.add_route(f"{base}/me", FollowingResource(tickets, named=False))
    app.add_route(f"{base}/{{user_id}}", FollowingResource(tickets, named=True))
