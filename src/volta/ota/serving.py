"""What the OTA service serves, by path, and a python-tuf fetcher that reads it in-process.

Paths (under the service's base URL):
- `image/metadata/<name>` and `image/targets/<ecu type>/<variant>/<sha256>.<file>`
- `director/<vin>/metadata/<name>`

`OtaFiles.get` is the one routing function: an HTTP route can serve it as it is, and
`InProcessFetcher` hands it to `tuf.ngclient.Updater` without a network (tests, simulator).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import FetcherInterface

from volta.errors import Forbidden
from volta.ota.director import Director
from volta.ota.image_repo import ImageRepository

Lookup = Callable[[str], bytes | None]
CHUNK = 64 * 1024


class OtaFiles:
    """The image repository and the director, served by path."""

    def __init__(self, image: ImageRepository, director: Director) -> None:
        self.image = image
        self.director = director

    def get(self, path: str) -> bytes | None:
        """The file at `path`, or None (a 404)."""
        kind, _, rest = path.lstrip("/").partition("/")
        if kind == "image":
            return self.image.file(rest)
        if kind == "director":
            vin, _, rest = rest.partition("/")
            folder, _, name = rest.partition("/")
            return self.director.file(vin, name) if folder == "metadata" else None
        return None

    def get_as(self, vin: str, path: str) -> bytes | None:
        """`get` for the vehicle `vin` (authenticated by the caller): the image repository is
        public to the fleet, the director's metadata of another vehicle is `Forbidden` (it says
        what that car runs and will run)."""
        kind, _, rest = path.lstrip("/").partition("/")
        if kind == "director" and rest.partition("/")[0] != vin:
            raise Forbidden(f"vehicle {vin} may read only its own director metadata")
        return self.get(path)


class InProcessFetcher(FetcherInterface):
    """A python-tuf fetcher answering from `lookup(path)`; a missing file is an HTTP 404."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    def _fetch(self, url: str) -> Iterator[bytes]:
        data = self.lookup(urlparse(url).path)
        if data is None:
            raise DownloadHTTPError(f"{url} not found", 404)
        # In chunks, as a network would deliver them, so that python-tuf's length limits apply
        # while reading, not after.
        return (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
