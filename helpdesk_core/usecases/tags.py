"""Tags as a vocabulary: staff list them with how many tickets carry each; administrators
rename them and merge one into another.

Putting tags on a ticket is the ticket's business (``usecases/tickets/tagging.py``). Here: a
rename names the version the caller saw (without one PreconditionRequired, with another
StaleVersion); a rename onto a name another tag has is Conflict unless the caller asks to
merge, and then the tag is merged into that one (every ticket carrying it carries the other
instead, and it is gone). Either way the tickets show the new names at once, their versions
unchanged: what was put on them did not change, only what it is called.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PreconditionRequired,
    StaleVersion,
    ValidationFailed,
)
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.tags import TagCount, tag_key, tag_name
from helpdesk_core.domain.values import unstorable
from helpdesk_core.policies import require_admin, require_staff
from helpdesk_core.ports.system import Clock
from helpdesk_core.ports.uow import UnitOfWork

TAG_PREFIX_MAX = 50


@attrs.frozen
class RenameTag:
    """A tag's new name; ``merge``: when another tag has it, merge into that one."""

    name: str
    merge: bool = False


@attrs.define
class TagService:
    """``list``, ``get``, ``rename`` (or merge) and ``merge``."""

    _uow: UnitOfWork
    _clock: Clock

    def list(self, actor: Principal, prefix: str | None = None) -> Sequence[TagCount]:
        """Every tag (whose name starts with ``prefix``, regardless of case), with the number
        of tickets carrying it, by name (staff). The counts are of every ticket."""
        require_staff(actor, "list tags")
        if prefix is not None:
            if len(prefix) > TAG_PREFIX_MAX:
                raise ValidationFailed.field("q", f"must be at most {TAG_PREFIX_MAX} characters")
            reason = unstorable(prefix)
            if reason is not None:  # a NUL byte PostgreSQL cannot even compare
                raise ValidationFailed.field("q", reason)
            prefix = tag_key(prefix) or None
        with self._uow.begin(read_only=True) as tx:
            return tx.tags.list(prefix)

    def get(self, actor: Principal, tag_id: uuid.UUID) -> TagCount:
        """The tag and how many tickets carry it (staff)."""
        require_staff(actor, "read tags")
        with self._uow.begin(read_only=True) as tx:
            tag = tx.tags.get(tag_id)
            if tag is None:
                raise NotFound("no such tag")
            return TagCount(tag, tx.tags.carried(tag.id))

    def rename(
        self,
        actor: Principal,
        tag_id: uuid.UUID,
        expected_version: int | None,
        command: RenameTag,
    ) -> TagCount:
        """Rename the tag (administrators), or merge it into the tag already named so when
        ``command.merge``; the answer is the tag that stays, with the tickets carrying it."""
        require_admin(actor, "rename tags")
        name = tag_name(command.name, "name")
        if expected_version is None:
            raise PreconditionRequired("send If-Match with the tag's ETag to rename it")
        now = self._clock.now()
        with self._uow.begin() as tx:
            tag = tx.tags.get(tag_id)
            if tag is None:
                raise NotFound("no such tag")
            if tag.version != expected_version:
                raise StaleVersion(
                    f"the tag changed since version {expected_version} (now {tag.version}): "
                    "reload it"
                )
            holder = tx.tags.by_keys({tag_key(name)}).get(tag_key(name))
            if holder is not None and holder.id != tag.id:
                if not command.merge:
                    raise Conflict(
                        f"a tag named '{holder.name}' already exists: send merge: true to "
                        f"merge '{tag.name}' into it"
                    )
                tx.tags.merge(tag, holder)
                answer = TagCount(holder, tx.tags.carried(holder.id))
                tx.commit()
                return answer
            if name != tag.name:
                tag = attrs.evolve(tag, name=name, updated_at=now, version=tag.version + 1)
                tx.tags.rename(tag)
            answer = TagCount(tag, tx.tags.carried(tag.id))
            tx.commit()
        return answer

    def merge(self, actor: Principal, source_id: uuid.UUID, target_id: uuid.UUID) -> TagCount:
        """Merge the tag ``source_id`` into ``target_id`` (administrators): the tickets
        carrying the first carry the second instead, and the first is gone."""
        require_admin(actor, "merge tags")
        if source_id == target_id:
            raise ValidationFailed.field("into", "a tag cannot be merged into itself")
        with self._uow.begin() as tx:
            source, target = tx.tags.get(source_id), tx.tags.get(target_id)
            if source is None:
                raise NotFound("no such tag")
            if target is None:
                raise ValidationFailed.field("into", "no such tag")
            tx.tags.merge(source, target)
            answer = TagCount(target, tx.tags.carried(target.id))
            tx.commit()
        return answer
