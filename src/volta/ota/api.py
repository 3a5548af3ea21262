"""`GET /v1/ota/{path}`: the OTA repositories as cars fetch them, from the folder
`VOLTA_OTA_DIR` (written by `volta ota keys create` and `volta ota image add`, kept fresh by
the server's re-signing job when `VOLTA_OTA_KEYS` names the online keys).

Paths are python-tuf's: `image/metadata/<name>`, `image/targets/<ecu type>/<variant>/<file>`,
`director/<vin>/metadata/<name>`. A vehicle reads the image repository and only its own
director metadata (which says what it runs and will run); operators read everything. Files are
answered with range support (`Accept-Ranges: bytes`, 206 with `Content-Range`, 416 for a range
past the end), so an interrupted image download resumes where it broke off.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import FileResponse

from volta.api.auth import PlatformDep, Policy, allow
from volta.errors import Forbidden, NotFound, Unavailable
from volta.ota.storage import served_file
from volta.registry import Principal, Role

__all__ = ["router"]

router = APIRouter(prefix="/v1/ota", tags=["ota"])

# The car's own check-ins, and operators; reads only (not audited).
OTA_READ = Policy(frozenset({Role.OPERATOR, Role.VEHICLE}))


@router.get("/{path:path}", response_class=FileResponse)
def ota_file(
    path: str, principal: Annotated[Principal, allow(OTA_READ)], platform: PlatformDep
) -> FileResponse:
    """One metadata file or image, as python-tuf's client asks for it."""
    folder = platform.settings.ota_dir
    if folder is None:
        raise Unavailable("this server serves no OTA repositories: set VOLTA_OTA_DIR")
    parts = path.split("/")
    if principal.role is Role.VEHICLE and parts[0] == "director" and parts[1:2] != [principal.vin]:
        raise Forbidden(f"vehicle {principal.vin} may read only its own director metadata")
    file = served_file(folder, path)
    if file is None:
        raise NotFound(f"no OTA file {path!r}")
    json = (file.suffix == ".json" and parts[1] == "metadata") or parts[0] == "director"
    return FileResponse(
        file,
        media_type="application/json" if json else "application/octet-stream",
        # metadata changes under the same name (timestamp.json): never cache it on the way
        headers={"Cache-Control": "no-store"} if json else None,
    )
