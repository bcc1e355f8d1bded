"""One background thread that does the store's writes, in order, while the caller encodes the next batch.

Usage::

    writer = BackgroundWriter()
    writer.submit(lambda: write(batch))   # returns at once (or once the write before the queued one is done)
    writer.flush()                        # every submitted write done; a failed one's exception raised here
    writer.close()                        # flush, then end the thread; close(cancel=True) drops queued writes

Why a thread: the writes (Chroma's upsert, the keyword index, the records) were 6.6 s of a 23.2 s pooled
ingestion on a quiet machine, time the encoder waited. Written behind, a whole first ingest of 150
articles is 1.16x as fast with the Chroma server on CPU of its own (the scale-out deployment), and 1.02x
with embedded Chroma sharing the encoder's two cores (docs/speed.md "Writes overlapped with encoding").
At most ``depth`` writes wait in the queue, so memory stays bounded: the one being written, the queued
ones and the batch being encoded.

The writes keep their order and each keeps its own (Chroma, then the tables, then the records): whatever
a reader in another process sees, it never sees records of chunks not written yet. After a write fails,
the writes queued behind it are dropped (none of them is recorded) and every later call raises its error.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Write = Callable[[], None]


class BackgroundWriter:
    """Writes done by one daemon thread, in the order they were submitted, at most ``depth`` waiting.

    Usage: ``writer = BackgroundWriter(); writer.submit(write); writer.close()``
    """

    def __init__(self, depth: int = 1) -> None:
        self.jobs: queue.Queue[Write | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.cancelled = False
        self.thread = threading.Thread(target=self._run, name="newsqa-writer", daemon=True)
        self.thread.start()

    def submit(self, write: Write) -> None:
        """Queue a write; blocks while ``depth`` writes wait already. Raises an earlier write's error."""
        self._raise()  # a failed write stops the caller at its next batch, not only at the end
        self.jobs.put(write)

    def flush(self) -> None:
        """Wait until every submitted write is done; raise the error of one that failed."""
        self.jobs.join()
        self._raise()

    def close(self, *, cancel: bool = False) -> None:
        """End the thread after the submitted writes (raising a failed one's error); with ``cancel``, after
        the write in progress only, dropping the queued ones and raising nothing (the caller is failing)."""
        self.cancelled = cancel
        try:
            self.jobs.join()
        finally:
            self.jobs.put(None)
            self.thread.join()
        if not cancel:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (write := self.jobs.get()) is not None:
            try:
                if self.error is None and not self.cancelled:
                    write()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by submit/flush/close
                self.error = exc
            finally:
                self.jobs.task_done()
        self.jobs.task_done()
