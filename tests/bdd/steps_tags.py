"""Steps for features/productivity/tags.feature, over the real HTTP app: staff tag tickets
through ``POST /staff/tickets/{id}/tags``, the queue is asked with ``tag=``, the administrator
renames through ``PATCH /admin/tags/{id}``. The scene and the tickets by subject are those of
steps_identity and steps_tickets."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_identity import Scene, _names, _problem
from tests.bdd.steps_tickets import Tickets, _as_admin, _ok, _token


def _tag(scene: Scene, tickets: Tickets, name: str, subject: str, **body: Any) -> Any:
    path = f"/staff/tickets/{tickets.ids[subject]}/tags"
    return _ok(scene.call("POST", path, _token(scene, name), json=body))


def _tags(scene: Scene) -> dict[str, dict[str, Any]]:
    items = _ok(scene.as_admin("GET", "/staff/tags"))["items"]
    return {item["name"]: item for item in items}


@given(parsers.parse('{name} has tagged "{subject}" with "{first}" and "{second}"'))
@when(parsers.parse('{name} tags "{subject}" with "{first}" and "{second}"'))
def tags_with_two(
    scene: Scene, tickets: Tickets, name: str, subject: str, first: str, second: str
) -> None:
    _tag(scene, tickets, name, subject, add=[first, second])


@given(parsers.parse('{name} has tagged "{subject}" with the tag "{tag}"'))
def tagged_with(scene: Scene, tickets: Tickets, name: str, subject: str, tag: str) -> None:
    _tag(scene, tickets, name, subject, add=[tag])


@when(parsers.parse('{name} takes the tag "{tag}" off "{subject}"'))
def takes_off(scene: Scene, tickets: Tickets, name: str, tag: str, subject: str) -> None:
    _tag(scene, tickets, name, subject, remove=[tag])


@then(parsers.parse('"{subject}" carries the tags "{names}"'))
def carries(scene: Scene, tickets: Tickets, subject: str, names: str) -> None:
    assert _as_admin(scene, tickets, subject)["tags"] == _names(names)


@then(parsers.parse('"{subject}" carries no tags'))
def carries_none(scene: Scene, tickets: Tickets, subject: str) -> None:
    assert _as_admin(scene, tickets, subject)["tags"] == []


@then(parsers.parse('the tags are "{counts}"'))
def the_tags_are(scene: Scene, counts: str) -> None:
    told = [
        f"{item['name']}: {item['tickets']} ticket{'' if item['tickets'] == 1 else 's'}"
        for item in _tags(scene).values()
    ]
    assert told == _names(counts)


def _queue_tagged(scene: Scene, name: str, *tags: str) -> list[str]:
    answer = scene.call("GET", "/staff/tickets", _token(scene, name), params={"tag": list(tags)})
    return [t["subject"] for t in _ok(answer)["items"]]


@then(parsers.parse('{name}\'s queue with the tag "{tag}" holds "{subjects}"'))
def queue_tagged(scene: Scene, name: str, tag: str, subjects: str) -> None:
    assert _queue_tagged(scene, name, tag) == _names(subjects)


@then(parsers.parse('{name}\'s queue with the tags "{first}" and "{second}" holds "{subjects}"'))
def queue_tagged_two(scene: Scene, name: str, first: str, second: str, subjects: str) -> None:
    assert _queue_tagged(scene, name, first, second) == _names(subjects)


def _rename(scene: Scene, tag: str, new: str, merge: bool) -> Any:
    found = _tags(scene)[tag]
    return scene.client.simulate_patch(
        f"/api/v1/admin/tags/{found['id']}",
        json={"name": new, "merge": merge},
        headers={
            "Authorization": f"Bearer {scene.administrator().sessions['desk']}",
            "If-Match": f'"{found["version"]}"',
        },
    )


@when(parsers.parse('the administrator renames the tag "{tag}" to "{new}" and merges it'))
def renames_and_merges(scene: Scene, tag: str, new: str) -> None:
    _ok(_rename(scene, tag, new, merge=True))


@when(parsers.parse('the administrator renames the tag "{tag}" to "{new}"'))
def renames(scene: Scene, tag: str, new: str) -> None:
    scene.answers.append(_rename(scene, tag, new, merge=False))


@then(parsers.parse('the administrator is told a tag named "{tag}" already exists'))
def told_taken(scene: Scene, tag: str) -> None:
    body = _problem(scene.last, 409)
    assert f"a tag named '{tag}' already exists" in body["detail"], body
