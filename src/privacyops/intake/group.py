"""Group commit of concurrent submissions: one transaction for the submissions that arrive
while the previous one commits.

The first caller to find the group idle becomes its *leader*: it writes what is queued in one
transaction (:meth:`IntakeService.write_items`, the same write as a single submission or an
import batch: records, keys, spam check, audit events), then whatever queued up meanwhile, until
the queue is empty. Every caller gets its own result, or its own error, only after the
transaction holding its submission committed — so a 202 still means "stored". There is no
linger: a lone caller is written at once, and batches grow only when callers are already
waiting for the database, which is when a shared commit pays off (one ``BEGIN IMMEDIATE``, one
audit-chain head, one key-store transaction for many).

When a batch fails as a whole (a database error), each of its submissions is written again on
its own, so one bad submission never costs the others theirs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Entry(Generic[Item, Result]):
    item: Item
    done: threading.Event = field(default_factory=threading.Event)
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Writes queued items in shared transactions; ``max_batch`` caps one transaction."""

    def __init__(self, *, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queues: dict[str, list[_Entry[Item, Result]]] = {}
        self._busy: set[str] = set()

    def submit(
        self, key: str, item: Item, write: Callable[[Sequence[Item]], list[Result]]
    ) -> Result:
        """Write ``item`` with others of the same ``key`` (items that share the audit actor);
        returns its result once its transaction committed, or raises its error."""
        entry: _Entry[Item, Result] = _Entry(item)
        with self._lock:
            self._queues.setdefault(key, []).append(entry)
            leader = key not in self._busy
            if leader:
                self._busy.add(key)
        if leader:
            self._lead(key, write)
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _lead(self, key: str, write: Callable[[Sequence[Item]], list[Result]]) -> None:
        while True:
            with self._lock:
                queue = self._queues.get(key, [])
                batch, self._queues[key] = queue[: self.max_batch], queue[self.max_batch :]
                if not batch:
                    self._busy.discard(key)
                    self._queues.pop(key, None)
                    return
            self._write(batch, write)

    @staticmethod
    def _write(
        batch: list[_Entry[Item, Result]], write: Callable[[Sequence[Item]], list[Result]]
    ) -> None:
        try:
            results = write([e.item for e in batch])
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            for entry in batch:  # the batch rolled back whole: each on its own
                try:
                    entry.result = write([entry.item])[0]
                except BaseException as one:
                    entry.error = one
                entry.done.set()
            return
        for entry, result in zip(batch, results, strict=True):
            entry.result = result
            entry.done.set()
