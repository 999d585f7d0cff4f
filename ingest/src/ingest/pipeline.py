"""Steps of the writer, each in a thread of its own, handing work on through one-slot queues.

Waiting on InfluxDB or the SQL store costs no CPU, so while one batch is written the next one
is decoded and the one before it recorded. One slot between two stages keeps the work in
flight small (and bounded by the broker's receive maximum anyway) and the order intact: every
stage takes its batches in the order they were gathered.
"""

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class StoppedError(Exception):
    """Stopped while a step was still being retried: nothing more is acknowledged."""


class Stage(Generic[_In, _Out]):
    """Runs ``step`` on each item handed to it, in order, and hands the result downstream.

    ``None`` handed in means no more: the stage finishes, hands ``None`` on and stops. When a
    step fails, the stage stops at once (``done``) and so does everything downstream once it
    has finished what it holds; upstream sees ``done`` and stops handing over.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[_In], _Out],
        downstream: "Stage[_Out, Any] | None" = None,
    ) -> None:
        self.done = threading.Event()
        self._inbox: queue.Queue[_In | None] = queue.Queue(maxsize=1)
        self._step = step
        self._downstream = downstream
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the stage's thread."""
        self._thread.start()

    def put(self, item: _In | None) -> bool:
        """Hand ``item`` over (``None``: no more), waiting for the slot; False once stopped."""
        while not self.done.is_set():
            try:
                self._inbox.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def join(self) -> None:
        """Wait until the stage has stopped."""
        self._thread.join()

    def _run(self) -> None:
        try:
            while (item := self._inbox.get()) is not None:
                result = self._step(item)
                if self._downstream is not None and not self._downstream.put(result):
                    return  # downstream stopped: what is left cannot be finished
        except StoppedError:
            log.warning("stopped before a batch was stored; the broker keeps it")
        except Exception:
            log.exception("the writer failed; nothing more is acknowledged")
            raise
        finally:
            self.done.set()
            if self._downstream is not None:
                self._downstream.put(None)
