"""Photos of a case's report, result, verification and quick notes, stored as rows of their own; the reading of
an upload (format, size, pixels, metadata stripped) is the kernel's (`saas.pictures`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from blueprints.grid_cases.models import CasePhoto
from saas.pictures import Picture


def photo_rows(pictures: Iterable[Picture], *, stage: str, uploaded_by_id: int | None, case_id: int | None = None,
               note_id: int | None = None, event_id: int | None = None) -> list[CasePhoto]:
    return [CasePhoto(case_id=case_id, note_id=note_id, event_id=event_id, stage=stage, content_type="image/jpeg",
                      width=p.width, height=p.height, size=len(p.data), data=p.data, thumb=p.thumb,
                      uploaded_by_id=uploaded_by_id) for p in pictures]


def photo_out(photo: CasePhoto) -> dict[str, Any]:
    return {"id": str(photo.id), "stage": photo.stage, "width": photo.width, "height": photo.height,
            "size": photo.size, "created_at": photo.created_at}
