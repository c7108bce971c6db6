"""The read cache's pieces: entity tags, If-None-Match, bounds, the version query."""

from __future__ import annotations

import re

from isegoria.http import read_cache
from isegoria.http.read_cache import ReadCache, Stored, entity_tag, matches
from isegoria.store.models import LogCheckpoint, LogEntry, LogHead


def stored(size: int, fill: bytes = b"x") -> Stored:
    body = fill * size
    return Stored(body, entity_tag(body))


def test_an_entity_tag_is_strong_quoted_and_follows_the_body() -> None:
    tag = entity_tag(b"{}")
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert entity_tag(b"{}") == tag != entity_tag(b"[]")


def test_if_none_match_is_compared_weakly_and_as_a_list() -> None:
    tag = entity_tag(b"body")
    assert matches(tag, tag)
    assert matches(f"W/{tag}", tag)
    assert matches(f'"a", {tag} , "b"', tag)
    assert matches("*", tag)
    assert not matches('"a", "b"', tag)
    assert not matches(None, tag)
    assert not matches("", tag)


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = ReadCache(max_entries=2)
    a, b, c = ("a", (1, 1)), ("b", (1, 1)), ("c", (1, 1))
    cache._put(a, stored(1))
    cache._put(b, stored(1))
    assert cache._get(a) is not None  # a is now the most recently used
    cache._put(c, stored(1))
    assert cache._get(b) is None
    assert cache._get(a) is not None and cache._get(c) is not None
    assert len(cache) == 2


def test_the_byte_bound_holds_and_one_huge_answer_is_not_kept() -> None:
    cache = ReadCache(max_entries=100, max_bytes=800)
    for n in range(10):
        cache._put((n, (1, 1)), stored(100))
    assert len(cache) == 8  # 8 x 100 bytes
    assert cache._get((0, (1, 1))) is None and cache._get((9, (1, 1))) is not None
    cache._put(("huge", (1, 1)), stored(101))  # over an eighth of the bound
    assert cache._get(("huge", (1, 1))) is None
    assert len(cache) == 8


def test_replacing_an_answer_does_not_count_its_bytes_twice() -> None:
    cache = ReadCache(max_entries=10, max_bytes=400)
    for _ in range(20):
        cache._put(("same", (1, 1)), stored(50))
    assert len(cache) == 1
    assert cache._bytes == 50


def test_a_cache_of_no_entries_keeps_nothing() -> None:
    cache = ReadCache(max_entries=0)
    cache._put(("a", (1, 1)), stored(1))
    assert cache._get(("a", (1, 1))) is None
    assert len(cache) == 0


def test_the_version_query_names_the_log_tables() -> None:
    sql = read_cache._VERSION_SQL
    assert f"FROM {LogHead.__tablename__} WHERE id = 1" in sql
    assert f"max(size) FROM {LogCheckpoint.__tablename__}" in sql
    assert f"count(*) FROM {LogEntry.__tablename__} WHERE idx >= log_head.size" in sql
    assert {"idx"} <= set(LogEntry.__table__.columns.keys())
    assert {"size"} <= set(LogHead.__table__.columns.keys())
    assert {"size"} <= set(LogCheckpoint.__table__.columns.keys())
