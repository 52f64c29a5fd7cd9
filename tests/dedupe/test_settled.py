"""Settled story members kept in process: what is kept, for how long, and how many."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from services.dedupe.decide import State
from services.dedupe.settled import SettledMembers
from services.dedupe.stories import Member
from services.dedupe.story_index import StoryIndex, encode_member
from shared.ids import id_time_ms, new_id
from shared.streams import Keys

QUIET_MS = 3_600_000
TERMS = {"rubio": 0.5, "lawrow": 0.5}


def _member(state: State, article_id: str | None = None, story: str | None = None) -> Member:
    return Member(article_id or new_id(), state, TERMS, story)


def test_a_settled_member_is_known_once_remembered() -> None:
    cache = SettledMembers(capacity=10, lifetime_ms=QUIET_MS)
    member = _member(State.CANONICAL, story="S")
    cache.remember([member])
    assert cache.known([member.article_id], id_time_ms(member.article_id)) == {
        member.article_id: member
    }


def test_contending_and_withdrawn_members_are_not_kept() -> None:
    cache = SettledMembers(capacity=10, lifetime_ms=QUIET_MS)
    members = [_member(State.CONTENDING), _member(State.WITHDRAWN)]
    cache.remember(members)
    assert cache.known([m.article_id for m in members], id_time_ms(members[0].article_id)) == {}
    assert len(cache) == 0


def test_a_member_is_forgotten_when_its_record_may_have_expired() -> None:
    cache = SettledMembers(capacity=10, lifetime_ms=QUIET_MS)
    member = _member(State.CANONICAL, story="S")
    cache.remember([member])
    expires = id_time_ms(member.article_id) + QUIET_MS
    assert cache.known([member.article_id], expires - 1) == {member.article_id: member}
    assert cache.known([member.article_id], expires) == {}
    assert len(cache) == 0


def test_past_its_capacity_the_least_recently_used_member_goes() -> None:
    cache = SettledMembers(capacity=2, lifetime_ms=QUIET_MS)
    first, second, third = (_member(State.CANONICAL, story="S") for _ in range(3))
    cache.remember([first, second])
    now = id_time_ms(first.article_id)
    cache.known([first.article_id], now)  # used: second is now the least recent
    cache.remember([third])
    ids = [first.article_id, second.article_id, third.article_id]
    assert set(cache.known(ids, now)) == {first.article_id, third.article_id}


async def test_a_settled_member_is_read_from_redis_once(redis: aioredis.Redis) -> None:
    keys = Keys(f"t{new_id()}")
    index = StoryIndex(redis, keys, seed=1, quiet_ms=QUIET_MS, shards=16)
    settled = _member(State.CANONICAL, story="S")
    await redis.set(keys.story_member(settled.article_id), encode_member(settled), px=QUIET_MS)
    now = int(time.time() * 1000)
    assert await index.members([settled.article_id], now) == {settled.article_id: settled}
    await redis.delete(keys.story_member(settled.article_id))  # not read again: still known
    assert await index.members([settled.article_id], now) == {settled.article_id: settled}


async def test_a_contending_member_is_read_again_and_found_settled(
    redis: aioredis.Redis,
) -> None:
    keys = Keys(f"t{new_id()}")
    index = StoryIndex(redis, keys, seed=1, quiet_ms=QUIET_MS, shards=16)
    contending = _member(State.CONTENDING)
    key = keys.story_member(contending.article_id)
    await redis.set(key, encode_member(contending), px=QUIET_MS)
    now = int(time.time() * 1000)
    assert await index.members([contending.article_id], now) == {contending.article_id: contending}
    settled = Member(contending.article_id, State.CANONICAL, TERMS, "S")
    await redis.set(key, encode_member(settled), px=QUIET_MS)
    assert await index.members([contending.article_id], now) == {contending.article_id: settled}
