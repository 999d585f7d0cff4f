"""An append-only JSON Lines log of what a simulator put on the wire.

End-to-end tests compare it with what comes out of the platform, so every line is flushed as soon
as it is written: a simulator killed mid-run still leaves a complete record of the frames it sent.
"""

import json
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

JsonValue = int | float | str | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class Recorder:
    """Appends one JSON object per line to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: dict[str, JsonValue]) -> None:
        """Append ``record`` as one line and flush it to the operating system."""
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Close the file; later writes fail."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
