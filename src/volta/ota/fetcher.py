"""`HttpFetcher`: how a car fetches OTA files over HTTP(S) for python-tuf, with its token,
resuming an interrupted download where it broke off (an HTTP range request) instead of
starting a large image again on a weak link.

python-tuf still enforces every signed length and hash on what this returns; a resumed
download that does not fit is refused like any other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
from tuf.api.exceptions import DownloadError, DownloadHTTPError
from tuf.ngclient import FetcherInterface

__all__ = ["HttpFetcher"]


class HttpFetcher(FetcherInterface):
    """Fetches with `client` (its base URL and `Authorization` header set by the caller);
    a broken transfer is resumed up to `attempts` times with a growing pause."""

    def __init__(self, client: httpx.Client, attempts: int = 4, pause_s: float = 0.2) -> None:
        self.client = client
        self.attempts = attempts
        self.pause_s = pause_s

    def _fetch(self, url: str) -> Iterator[bytes]:
        return self._chunks(url)

    def _chunks(self, url: str) -> Iterator[bytes]:
        received = 0
        failures = 0
        while True:
            headers = {"Range": f"bytes={received}-"} if received else {}
            try:
                with self.client.stream("GET", url, headers=headers) as r:
                    if r.status_code >= 400:
                        raise DownloadHTTPError(f"{url}: HTTP {r.status_code}", r.status_code)
                    skip = received if r.status_code == 200 else 0  # the server ignored Range
                    for chunk in r.iter_bytes():  # as they arrive: none held back
                        if skip:
                            cut = min(skip, len(chunk))
                            chunk, skip = chunk[cut:], skip - cut
                        if chunk:
                            received += len(chunk)
                            yield chunk
                    return
            except httpx.TransportError as exc:
                failures += 1
                if failures >= self.attempts:
                    raise DownloadError(
                        f"{url}: gave up after {failures} broken transfers ({exc})"
                    ) from exc
                time.sleep(self.pause_s * 2 ** (failures - 1))
