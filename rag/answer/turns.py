"""Turns on the one model: answers and follow-up rewrites are written one at a time.

One model on two cores writes one answer at a time, while retrieval, the gate's refusals and the
instant answers of other questions go on. An answer waiting for its turn is told how many answers
come before it; a follow-up rewrite (a second or two) simply waits.

Usage::

    turns = ModelTurns()
    for waiting in turns.wait():        # Waiting(ahead) when the model is busy, then the turn is taken
        show(waiting.ahead)
    with turns.held():                   # gives back the turn taken by wait(), however the block ends
        write_the_answer()
    with turns:                          # take a turn and give it back, without being counted
        rewrite_the_follow_up()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType

from rag.answer.results import Waiting


class ModelTurns:
    """Who writes on the model now; one instance shared by everything that generates with it."""

    def __init__(self) -> None:
        self._writing = threading.Lock()  # held while the model writes (and translates) one answer
        self._waiting = 0  # answers waiting in wait() (guarded by _counting)
        self._counting = threading.Lock()

    def wait(self) -> Iterator[Waiting]:
        """Take the turn (give it back with :meth:`held`), yielding :class:`Waiting` first if the model is busy."""
        if self._writing.acquire(blocking=False):
            return
        with self._counting:
            self._waiting += 1
            ahead = self._waiting  # the one being written and those that queued before this one
        try:
            yield Waiting(ahead)
            self._writing.acquire()
        finally:
            with self._counting:
                self._waiting -= 1

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Gives back the turn taken by :meth:`wait` when the block ends."""
        try:
            yield
        finally:
            self._writing.release()

    def __enter__(self) -> ModelTurns:
        self._writing.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._writing.release()
