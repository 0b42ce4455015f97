"""Group commit of intake submissions: concurrent callers share transactions, each gets its
own answer only after its batch was written, and one failing submission costs no other its
place. The HTTP side (every acknowledged submission stored once under 50 clients) is
``tests/test_concurrency.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from privacyops.intake.group import GroupCommit


class Store:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.committed: set[int] = set()

    def write(self, items: Sequence[int]) -> list[str]:
        time.sleep(0.02)  # a transaction takes a while: callers queue meanwhile
        if 13 in items:
            raise ValueError("bad item")  # rolls back the whole batch
        self.batches.append(list(items))
        self.committed.update(items)
        return [f"ok{i}" for i in items]


def test_concurrent_callers_share_transactions_and_each_gets_its_own_answer() -> None:
    group: GroupCommit[int, str] = GroupCommit(max_batch=8)
    store = Store()
    answers: dict[int, str | BaseException] = {}

    def call(i: int) -> None:
        try:
            answer = group.submit("web:web_form", i, store.write)
            assert i in store.committed  # answered only once written
            answers[i] = answer
        except ValueError as exc:
            answers[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert {i: a for i, a in answers.items() if i != 13} == {
        i: f"ok{i}" for i in range(40) if i != 13
    }
    assert isinstance(answers[13], ValueError)
    assert 13 not in store.committed
    assert sorted(i for batch in store.batches for i in batch) == [i for i in range(40) if i != 13]
    assert max(len(b) for b in store.batches) > 1  # some were written together
    assert max(len(b) for b in store.batches) <= 8


def test_a_lone_caller_is_written_at_once_and_errors_reach_it() -> None:
    group: GroupCommit[int, str] = GroupCommit()
    store = Store()
    assert group.submit("k", 1, store.write) == "ok1"
    assert store.batches == [[1]]
    with pytest.raises(ValueError, match="bad item"):
        group.submit("k", 13, store.write)
    assert group.submit("k", 2, store.write) == "ok2"  # the group is idle again, not stuck
