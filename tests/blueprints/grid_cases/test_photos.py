"""Photos: only pictures, not too large, turned upright and stored without their metadata."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from blueprints.grid_cases.models import CasePhoto
from blueprints.grid_cases.services.base import ServiceError
from blueprints.grid_cases.services.photos import MAX_PHOTOS, Upload, check_uploads, read_picture
from tests.blueprints.grid_cases.conftest import World, jpeg

MB = 1024 * 1024


def exif_with_gps_and_rotation() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x0110] = "TestPhone 12"  # model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (37.0, 52.0, 0.0)
    return exif


def test_metadata_is_dropped_and_the_picture_turned_upright() -> None:
    raw = jpeg(80, 40, exif=exif_with_gps_and_rotation())
    assert b"TestPhone" in raw
    picture = read_picture(raw, 8 * MB)
    stored = Image.open(io.BytesIO(picture.data))
    assert stored.format == "JPEG"
    assert (stored.width, stored.height) == (40, 80)  # rotated as the camera meant
    assert not stored.getexif()
    assert b"TestPhone" not in picture.data
    assert b"TestPhone" not in picture.thumb


def test_large_pictures_are_shrunk_and_thumbnailed() -> None:
    picture = read_picture(jpeg(3000, 2000), 8 * MB)
    assert (picture.width, picture.height) == (1600, 1067)
    assert max(Image.open(io.BytesIO(picture.thumb)).size) == 320


@pytest.mark.parametrize(("data", "why"), [
    (b"", "empty"),
    (b"%PDF-1.4 not a picture", "not a picture"),
    (b"GIF89a" + b"\x00" * 40, "a broken GIF"),
    (jpeg()[:40], "a truncated JPEG"),
])
def test_what_is_not_a_readable_photo_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(ServiceError) as err:
        read_picture(data, 8 * MB)
    assert "photos" in err.value.errors, why


def test_a_gif_or_a_bmp_is_refused_even_when_it_is_a_real_picture() -> None:
    for fmt in ("GIF", "BMP"):
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, fmt)
        with pytest.raises(ServiceError):
            read_picture(out.getvalue(), 8 * MB)


def test_too_large_or_too_many_is_refused_before_anything_is_kept() -> None:
    with pytest.raises(ServiceError):
        read_picture(jpeg() + b"\x00" * (2 * MB), 1 * MB)
    with pytest.raises(ServiceError):
        check_uploads([Upload(f"{i}.jpg", jpeg()) for i in range(MAX_PHOTOS + 1)], 8 * MB)


def test_png_and_webp_are_accepted_and_stored_as_jpeg() -> None:
    for fmt in ("PNG", "WEBP"):
        picture = read_picture(jpeg(fmt=fmt), 8 * MB)
        assert Image.open(io.BytesIO(picture.data)).format == "JPEG"


def test_a_report_with_one_bad_file_keeps_nothing(world_a: World) -> None:
    with pytest.raises(ServiceError) as err:
        world_a.report("worker", photos=(Upload("ok.jpg", jpeg()), Upload("notes.txt", b"hello")))
    assert err.value.errors["photos"].startswith("notes.txt")
    with world_a.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CasePhoto)) == 0
    case = world_a.report("worker", photos=(Upload("ok.jpg", jpeg()),))
    with world_a.session() as s:
        assert s.scalars(sa.select(CasePhoto.stage).where(CasePhoto.case_id == case.id)).all() == ["report"]
