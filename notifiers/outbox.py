"""The outbox folder notifier (发件箱): every message becomes one ``.eml`` file.

The embedded default: it needs no mail server, so ``make run``, dry runs and
tests deliver here, and an operator can open the files in any mail client or
hand them to a mail system later. It is the SMTP notifier's test double in
the sense of httpx's ``MockTransport``: the very bytes SMTP would send.

File names. A message for key ``k`` is written to
``<safe prefix of k>--<first 16 hex digits of sha256(k)>.eml``
(:func:`duban.notifiers.render.safe_token`): the prefix keeps ASCII letters,
digits, ``.``, ``_`` and ``-`` of the key, so an operator can find a digest
by eye; the hash keeps two keys apart however much of them the prefix lost
(a Chinese key, ``a/b`` versus ``a:b``). The name never holds a path
separator, never starts with a dot and stays under 100 characters.

Writes are atomic: the bytes go to a temporary file in the same folder, are
fsync'ed, then ``os.replace`` moves them over the final name and the folder
is fsync'ed, so a reader (or a crash) sees either the old file or the whole
new one, never half a message. Writing the same key again replaces the file
with the same bytes (the MIME rendering is deterministic): one file per key.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Sequence

from .abc import DeliveryResult, HeaderValueError, OutgoingMessage
from .render import mime_bytes, safe_token

__all__ = ["OutboxNotifier", "outbox_file_name"]

#: How long the sender should wait after a failed write (a full disk, a
#: permission problem): long enough for an operator to notice.
DEFAULT_RETRY_AFTER = 300.0

_TEMP_PREFIX = ".tmp-"


def outbox_file_name(key: str) -> str:
    """The file name the outbox uses for ``key`` (see the module docstring)."""
    return safe_token(key) + ".eml"


class OutboxNotifier:
    """Writes each message as ``<folder>/<safe name>.eml`` (LF line endings, as mail tools read them)."""

    name = "outbox"

    def __init__(self, folder: Path | str, *, retry_after: float = DEFAULT_RETRY_AFTER) -> None:
        self.folder = Path(folder)
        self.retry_after = retry_after
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Where the message for ``key`` is (or will be) written."""
        return self.folder / outbox_file_name(key)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[DeliveryResult]:
        """Write every message; a bad header fails that message, a write error retries it."""
        results = []
        for message in messages:
            try:
                data = mime_bytes(message, linesep="\n")
            except HeaderValueError as exc:
                results.append(DeliveryResult(key=message.key, status="failed", detail=str(exc)))
                continue
            target = self.path_for(message.key)
            try:
                self._write_atomically(target, data)
            except OSError as exc:
                results.append(
                    DeliveryResult(
                        key=message.key,
                        status="retry",
                        detail=f"cannot write {str(target)!r}: {exc}",
                        retry_after=self.retry_after,
                    )
                )
                continue
            results.append(DeliveryResult(key=message.key, status="sent", detail=str(target)))
        return results

    def _write_atomically(self, target: Path, data: bytes) -> None:
        fd, temp_name = tempfile.mkstemp(dir=self.folder, prefix=_TEMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        # The rename itself is only durable once the folder's entry is on disk.
        folder_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)

    def close(self) -> None:
        """Nothing to release: every write closes its file."""
