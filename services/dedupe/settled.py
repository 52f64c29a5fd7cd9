"""Settled story members, kept in the process that read them.

A canonical article's story member is written once more when it settles (state K and its story,
in the same step as its verdict) and never again: whoever reads it settled reads its final
record. Story look-ups read the members of every candidate, and the candidates of an event's
articles are that event's earlier members, read again and again: by the next batch, and by each
round of an article that waits for a contender (with more replicas, more articles wait, and
more often). So a settled member is kept once read, until the earliest its record can expire:
its ingest time plus the story quiet time (``Window.entry_expiry_ms`` never gives less).
Contending and withdrawn members change; they are always read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

from services.dedupe.decide import State
from services.dedupe.stories import Member
from shared.ids import id_time_ms


class SettledMembers:
    """The least recently used ``capacity`` settled members, each until its record may expire."""

    def __init__(self, capacity: int, lifetime_ms: int) -> None:
        self.capacity = capacity
        self.lifetime_ms = lifetime_ms
        # each with when its record may expire, computed once
        self._members: OrderedDict[str, tuple[Member, int]] = OrderedDict()

    def known(self, article_ids: Sequence[str], now_ms: int) -> dict[str, Member]:
        """The settled members among ``article_ids`` whose records certainly still exist."""
        found = {}
        for article_id in article_ids:
            kept = self._members.get(article_id)
            if kept is None:
                continue
            member, expires_ms = kept
            if now_ms >= expires_ms:
                del self._members[article_id]
                continue
            self._members.move_to_end(article_id)
            found[article_id] = member
        return found

    def remember(self, members: Iterable[Member]) -> None:
        for member in members:
            if member.state is not State.CANONICAL:
                continue
            expires_ms = id_time_ms(member.article_id) + self.lifetime_ms
            self._members[member.article_id] = (member, expires_ms)
            self._members.move_to_end(member.article_id)
        while len(self._members) > self.capacity:
            self._members.popitem(last=False)

    def __len__(self) -> int:
        return len(self._members)
