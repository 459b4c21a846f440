"""Photos uploaded to any module: a case's, a visit's, a feedback item's, a rated official's.

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

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from saas.actors import ServiceError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}  # MPO: what some phones call their JPEGs
MAX_EDGE = 1600
THUMB_EDGE = 320
# Pixels are what decoding costs (4 bytes each in memory, whatever the file's size: an 8000 x 6000 PNG of one
# colour is 150 KB on the wire and 192 MB decoded). A phone's photo in its normal mode has 12 MP (4000 x 3000,
# binned) or, on the iPhone 15 and later, 24.5 MP (5712 x 4284); only the 48-200 MP "full resolution" modes go
# beyond, and nothing in a case needs them. So one picture may have 25 MP (100 MB decoded at most) ...
MAX_PIXELS = 25_000_000
# ... and one request all its pictures together 75 MP: six normal 12 MP photos (72 MP), or three of 24.5 MP.
# They are decoded one after another, so memory holds one picture at a time; JPEGs are decoded straight at
# the stored size (a 24 MP JPEG costs 6 MP), which leaves PNG and WebP the costly ones.
MAX_PIXELS_PER_REQUEST = 75_000_000
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


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}"


def probe_picture(data: bytes, max_bytes: int) -> int:
    """The picture's pixel count, read from its header only (nothing is decoded), or ServiceError saying what is
    wrong with the file: empty, too large in bytes, not a JPEG, PNG or WebP, or more than MAX_PIXELS."""
    if not data:
        raise ServiceError({"photos": _("The file is empty.")})
    if len(data) > max_bytes:
        raise ServiceError({"photos": _("A photo may be at most %(mb)s MB.", mb=max_bytes // (1024 * 1024))})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ServiceError({"photos": _("This file is not a photo we can read.")}) from None
    if fmt not in ACCEPTED_FORMATS:
        raise ServiceError({"photos": _("Only JPEG, PNG or WebP photos are accepted.")})
    if width * height > MAX_PIXELS:
        raise ServiceError({"photos": _(
            "The picture has %(mp)s megapixels; at most %(max)s are accepted. Take it in the camera's normal mode "
            "or send a smaller copy.", mp=_megapixels(width * height), max=_megapixels(MAX_PIXELS))})
    return width * height


def read_picture(data: bytes, max_bytes: int) -> Picture:
    """The picture re-encoded without metadata, or ServiceError saying what is wrong with the file."""
    probe_picture(data, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                orientation = image.getexif().get(0x0112)
                image.draft("RGB", (MAX_EDGE, MAX_EDGE))  # a JPEG decodes at 1/2, 1/4 or 1/8 of its size
                image.load()
                upright = ImageOps.exif_transpose(image) if orientation not in (None, 1) else image
                rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ServiceError({"photos": _("This file is not a photo we can read.")}) from None
    full, width, height = _encode(rgb, MAX_EDGE)
    thumb, _w, _h = _encode(rgb, THUMB_EDGE)
    return Picture(full, thumb, width, height)


def request_uploads(field: str) -> list[Upload]:
    """The files of the current request's multipart field, read once; more than any service accepts are cut off
    here (the service then says how many it takes)."""
    from flask import request

    files = [f for f in request.files.getlist(field) if f and (f.filename or f.content_length)]
    return [Upload(f.filename or "", f.read()) for f in files[: MAX_PHOTOS + 1]]


def check_uploads(uploads: Iterable[Upload], max_bytes: int, already: int = 0) -> list[Picture]:
    """Every upload read, or one ServiceError naming the first bad file (then none is kept).

    Every file's header is read first: a file that is no photo, or too many pixels in one picture or in all of
    them together, is refused before any picture is decoded."""
    files = [u for u in uploads if u.filename or u.data]
    if len(files) + already > MAX_PHOTOS:
        raise ServiceError({"photos": _("At most %(n)s photos.", n=MAX_PHOTOS)})

    def named(upload: Upload, err: ServiceError) -> ServiceError:
        message = err.errors.get("photos", "")
        return ServiceError({"photos": f"{upload.filename}: {message}" if upload.filename else message})

    total = 0
    for upload in files:
        try:
            total += probe_picture(upload.data, max_bytes)
        except ServiceError as err:
            raise named(upload, err) from None
    if total > MAX_PIXELS_PER_REQUEST:
        raise ServiceError({"photos": _(
            "These photos have %(mp)s megapixels together; at most %(max)s are accepted at once. Send fewer or "
            "smaller photos.", mp=_megapixels(total), max=_megapixels(MAX_PIXELS_PER_REQUEST))})
    pictures = []
    for upload in files:
        try:
            pictures.append(read_picture(upload.data, max_bytes))
        except ServiceError as err:
            raise named(upload, err) from None
    return pictures
