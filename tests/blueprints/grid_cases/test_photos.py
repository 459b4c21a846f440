"""Photos: only pictures, not too large, turned upright and stored without their metadata."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from blueprints.grid_cases.models import CasePhoto
from blueprints.grid_cases.services.base import ServiceError
from saas.pictures import (
    MAX_PHOTOS,
    MAX_PIXELS,
    MAX_PIXELS_PER_REQUEST,
    Upload,
    check_uploads,
    read_picture,
)
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


# --- pixels: what decoding costs, bounded per picture and per request before anything is decoded ---------------


def png(width: int, height: int) -> bytes:
    """A picture of one colour: some kilobytes on the wire, width x height x 4 bytes once decoded."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 60)).save(out, "PNG")
    return out.getvalue()


# run in a process of its own, so its peak memory is this upload's alone (Pillow's buffers are not Python's)
_MEASURE = """
import json, pickle, resource, sys, time
from blueprints.grid_cases.services.base import ServiceError
from saas.pictures import Upload, check_uploads
files = pickle.loads(open(sys.argv[1], "rb").read())
uploads = [Upload(name, data) for name, data in files]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    kept, error = len(check_uploads(uploads, 20 * 1024 * 1024)), None
except ServiceError as err:
    kept, error = 0, err.errors["photos"]
seconds = time.perf_counter() - started
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(json.dumps({"seconds": seconds, "bytes": grown, "kept": kept, "error": error}))
"""


def upload_costs(tmp_path: Path, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Seconds, peak memory grown (bytes), pictures kept and the refusal of one upload of `files`."""
    path = tmp_path / "files.pickle"
    path.write_bytes(pickle.dumps(files))
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], cwd=root,  # noqa: S603 - our own script
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_picture_over_the_pixel_bound_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    for width, height, shown in ((8000, 6000, "48.0"), (7000, 5000, "35.0")):  # 35 MP passed the old bound
        bomb = png(width, height)
        assert len(bomb) < 200 * 1024
        costs = upload_costs(tmp_path, [("big.png", bomb)])
        assert costs["error"].startswith("big.png: ")
        assert shown in costs["error"]
        assert "25.0" in costs["error"]
        assert costs["seconds"] < 0.5
        assert costs["bytes"] < 20 * MB  # decoded, 35 MP would take 105 MB


def test_pictures_over_the_request_bound_are_refused_before_any_is_decoded(tmp_path: Path) -> None:
    # six 40 MP PNGs (690 KB) took 6.4 s and 786 MB in one worker; four of 20 MP (80 MP) are over the bound together
    files = [(f"{i}.png", png(5000, 4000)) for i in range(4)]
    assert sum(len(data) for _name, data in files) < 1 * MB
    costs = upload_costs(tmp_path, files)
    assert "80.0" in costs["error"]
    assert "75.0" in costs["error"]
    assert costs["seconds"] < 0.5
    assert costs["bytes"] < 20 * MB


@pytest.mark.one_backend
def test_the_refusal_is_in_the_persons_language(app) -> None:
    with app.test_request_context("/"), pytest.raises(ServiceError) as err:
        check_uploads([Upload("big.png", png(7000, 5000))], 8 * MB)
    assert "百万像素" in err.value.errors["photos"]


def test_a_phones_normal_photos_pass_and_jpegs_decode_at_the_stored_size(tmp_path: Path) -> None:
    assert MAX_PIXELS >= 5712 * 4284  # the iPhone's 24 MP default
    assert MAX_PIXELS_PER_REQUEST >= MAX_PHOTOS * 4000 * 3000  # six 12 MP photos at once
    rotated = jpeg(5712, 4284, exif=exif_with_gps_and_rotation())
    costs = upload_costs(tmp_path, [("iphone.jpg", rotated)])
    assert (costs["kept"], costs["error"]) == (1, None)
    assert costs["bytes"] < 60 * MB  # decoded whole it would be 73 MB, and its copies as much again
    [picture] = check_uploads([Upload("iphone.jpg", rotated)], 20 * MB)
    assert (picture.width, picture.height) == (1200, 1600)  # upright, as the camera meant


def test_the_api_refuses_a_pixel_bomb_clearly_and_keeps_nothing(client, world_a: World) -> None:
    from tests.blueprints.grid_cases.test_api import BASE, LEAK, token

    worker = token(world_a, "worker")
    case = client.post(f"{BASE}/cases", json=LEAK | {"location_code": world_a.code("g1")}, headers=worker).json
    bomb = png(7000, 5000)
    refused = client.post(f"{BASE}/cases/{case['id']}/photos?stage=report",
                          data={"photos": [(io.BytesIO(bomb), "big.png")]}, headers=worker,
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "百万像素" in refused.json["errors"]["photos"]
    with world_a.session() as s:
        assert s.scalars(sa.select(CasePhoto)).all() == []
