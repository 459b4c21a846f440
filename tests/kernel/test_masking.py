"""The kernel's one rule for personal data in free text (`saas.masking`): every disguise blotted, ordinary text kept."""

from __future__ import annotations

import pytest

from saas.masking import coarsen, has_personal, mask_personal


@pytest.mark.parametrize("secret", [
    "13800138000", "1380 013 8000", "138-0013-8000", "138.0013.8000", "１３８００１３８０００",
    "１３８－００１３－８０００",    "+86 138 0013 8000", "0086-13800138000", "138 0013 8000",
    "0351-1234567", "010 1234 5678", "(0351) 765 4321", "０３５１－１２３４５６７",
    "110101199003072316", "11010119900307231X", "110101 19900307 2316", "110101-1990-0307-2316",
    "１１０１０１１９９００３０７２３１６", "110101900307231",
    "zhang3@example.cn", "zhang(at)example.com", "zhang [at] example [dot] com", "zhang at example dot com",
    "zhang @ example . com", "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhang.san+x@mail.example.com.cn",
])
def test_each_disguise_is_blotted_inside_chinese_text(secret):
    text = f"垃圾堆积，请联系{secret}，谢谢。"
    masked = mask_personal(text)
    assert masked == f"垃圾堆积，请联系{'*' * len(secret)}，谢谢。"
    assert has_personal(text)


@pytest.mark.parametrize("ordinary", [
    "案件 XD-20261201-0007 已办结。", "2026-12-01 13:45 到场", "2026年12月1日", "金额 12,000.50 元，共 1380 户",
    "热线 12345，服务电话 400-123-4567", "第 20261201 批", "meet me at home. Then go", "3号楼2单元501室",
    "坐标 37.8601, 112.5502", "车牌 晋A12345", "v1.2.3 at 10.5%",
])
def test_ordinary_text_survives(ordinary):
    assert mask_personal(ordinary) == ordinary
    assert not has_personal(ordinary)


def test_known_values_are_blotted_and_a_single_character_is_not():
    assert mask_personal("我是张三，住张家巷", known=["张三", "张", None, ""]) == "我是**，住张家巷"


def test_full_width_punctuation_outside_a_blot_is_kept():
    assert mask_personal("电话：１３８００１３８０００（白天）") == "电话：" + "*" * 11 + "（白天）"


def test_empty_and_none():
    assert mask_personal(None) == ""
    assert mask_personal("") == ""


def test_coordinates_are_coarsened_to_three_decimals():
    assert coarsen(37.860149) == 37.86
    assert coarsen(112.55059) == 112.551
    assert coarsen(-0.0004) == -0.0
    assert coarsen(None) is None
    assert coarsen(37.8601, 2) == 37.86


@pytest.mark.parametrize("secret", [
    "一三八〇〇一三八〇〇〇", "幺三八零零幺三八零零零", "１３８　００１３　８０００", "138/0013/8000", "138_0013_8000",
    "1 3 8 0 0 1 3 8 0 0 0", "〇三五一－七六五四三二一", "一一〇一〇一一九九〇〇三〇七二三一六",
    "zhang@example。com", "zhang艾特example.com", "zhang#example.com", "ＺＨＡＮＧ（ＡＴ）ＥＸＡＭＰＬＥ．ＣＯＭ",
])
def test_more_disguises_are_blotted(secret):
    assert mask_personal(f"请联系{secret}，谢谢。") == f"请联系{'*' * len(secret)}，谢谢。"


@pytest.mark.parametrize("ordinary", [
    "二〇二六年十二月一日", "3#楼2单元", "一二三四五六七八九〇一二", "2026/12/01 13:45", "第一网格、第二网格",
    "A_1/B_2 井盖",
])
def test_ordinary_text_in_those_shapes_survives(ordinary):
    assert mask_personal(ordinary) == ordinary
