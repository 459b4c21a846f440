"""Photos of reports, results, verifications and quick notes.

An upload is read with Pillow: a file that is not a JPEG, PNG or WebP picture, or is larger than the
district allows, is refused with a message in the person's language and nothing is stored. A picture
that passes is turned upright (EXIF orientation), shrunk to at most 1600 pixels and stored again as
JPEG without any metadata, so the GPS position and the phone model a camera writes never leave the
phone's owner; a 320-pixel thumbnail is kept beside it. The bytes live in the database, so every web
process serves them.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from blueprints.grid_cases.models import CasePhoto
from tenants.services import ServiceError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}  # MPO: what some phones call their JPEGs
MAX_EDGE = 1600
THUMB_EDGE = 320
MAX_PIXELS = 40_000_000  # a 40-megapixel picture; larger ones are decompression bombs, not photos
MAX_PHOTOS = 6


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file as the request carried it."""

    filename: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class Picture:
    data: bytes
    thumb: bytes
    width: int
    height: int


def _encode(image: Image.Image, edge: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((edge, edge))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), copy.width, copy.height


def read_picture(data: bytes, max_bytes: int) -> Picture:
    """The picture re-encoded without metadata, or ServiceError saying what is wrong with the file."""
    if not data:
        raise ServiceError({"photos": _("The file is empty.")})
    if len(data) > max_bytes:
        raise ServiceError({"photos": _("A photo may be at most %(mb)s MB.", mb=max_bytes // (1024 * 1024))})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise ServiceError({"photos": _("Only JPEG, PNG or WebP photos are accepted.")})
                if probe.width * probe.height > MAX_PIXELS:
                    raise ServiceError({"photos": _("The picture has too many pixels.")})
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ServiceError({"photos": _("This file is not a photo we can read.")}) from None
    full, width, height = _encode(rgb, MAX_EDGE)
    thumb, _w, _h = _encode(rgb, THUMB_EDGE)
    return Picture(full, thumb, width, height)


def check_uploads(uploads: Iterable[Upload], max_bytes: int, already: int = 0) -> list[Picture]:
    """Every upload read, or one ServiceError naming the first bad file (then none is kept)."""
    files = [u for u in uploads if u.filename or u.data]
    if len(files) + already > MAX_PHOTOS:
        raise ServiceError({"photos": _("At most %(n)s photos.", n=MAX_PHOTOS)})
    pictures = []
    for upload in files:
        try:
            pictures.append(read_picture(upload.data, max_bytes))
        except ServiceError as err:
            message = err.errors.get("photos", "")
            raise ServiceError({"photos": f"{upload.filename}: {message}" if upload.filename else message}) from None
    return pictures


def photo_rows(pictures: Iterable[Picture], *, stage: str, uploaded_by_id: int | None, case_id: int | None = None,
               note_id: int | None = None, event_id: int | None = None) -> list[CasePhoto]:
    return [CasePhoto(case_id=case_id, note_id=note_id, event_id=event_id, stage=stage, content_type="image/jpeg",
                      width=p.width, height=p.height, size=len(p.data), data=p.data, thumb=p.thumb,
                      uploaded_by_id=uploaded_by_id) for p in pictures]


def photo_out(photo: CasePhoto) -> dict[str, Any]:
    return {"id": str(photo.id), "stage": photo.stage, "width": photo.width, "height": photo.height,
            "size": photo.size, "created_at": photo.created_at}
