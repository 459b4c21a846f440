"""Personal data out of free text, for every surface that shows text to someone who may not see it.

`mask_personal(text)` blots mainland mobile numbers, fixed lines with their area code, resident ID numbers
and e-mail addresses, in the disguises people (and scrapers' evasions) use: spaces, hyphens and dots between
digit groups (`1380 013 8000`, `138-0013-8000`, `138.0013.8000`, `138/0013/8000`, `1 3 8 0 0 1 3 8 0 0 0`),
full-width digits (`１３８００１３８０００`), Chinese numerals (`一三八〇〇一三八〇〇〇`, `幺` for one), an ID number
with spaces, `zhang(at)example.com`, `zhang at example dot com`, `zhang艾特example。com`, `zhang#example.com`.
Matching runs on the NFKC form of the text (full-width digits and letters become ASCII, Chinese numerals digits),
but the answer keeps the original text around the blots (Chinese punctuation stays full-width): every character
of a match becomes one `*`, so the reader sees that something was there and how long it was.

What is deliberately left alone, since it is how the product writes its own things: case numbers
(`XD-20261201-0007`), dates, times, amounts, and digit runs without an area code that are not a mobile or ID
number (a seven-digit local number without its area code cannot be told from an amount).

`coarsen(value)` rounds a public coordinate to 3 decimals (about 110 m of latitude): a neighbourhood, not a door.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SEP = r"[\s.\-‐‑–—·・/_]*"  # what people put between digit groups (NFKC turns full-width ones into these)
# digits written as Chinese numerals (一三八〇〇一三八〇〇〇, 幺 as 1 is how a number is read out): matched as digits
_CHINESE_DIGITS = {ch: str(i) for i, ch in enumerate("〇一二三四五六七八九")} | {"零": "0", "幺": "1"}

# +86 / 0086 prefix, then 1[3-9]x and eight more digits, each perhaps after a separator
_MOBILE = re.compile(rf"(?<![0-9])(?:(?:\+|00)?86{_SEP})?1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}(?![0-9])")
# 18 characters (17 digits and a check digit or X), perhaps in groups; 15-digit first-generation numbers too
_ID_NUMBER = re.compile(
    rf"(?<![0-9A-Za-z])[1-9](?:{_SEP}[0-9]){{16}}{_SEP}[0-9Xx](?![0-9A-Za-z])"
    rf"|(?<![0-9A-Za-z])[1-9](?:{_SEP}[0-9]){{14}}(?![0-9A-Za-z])")
# a fixed line needs its area code (0 and 2-3 digits, perhaps in brackets), then 7 or 8 digits in groups;
# 400/800 service numbers are public by nature and stay
_FIXED = re.compile(rf"(?<![0-9A-Za-z])(?:\(0[1-9][0-9]{{1,2}}\)|0[1-9][0-9]{{1,2}}){_SEP}[1-9](?:{_SEP}[0-9]){{6,7}}"
                    rf"(?![0-9])")
_AT = r"(?:\s*[@#]\s*|\s*艾特\s*|\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*)"  # 艾特: "at" in Chinese internet slang
_DOT = r"(?:\s*[.。]\s*|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+)"
_DOMAIN = rf"[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)*{_DOT}[A-Za-z]{{2,}}(?![A-Za-z0-9])"
# `zhang at example dot com`: a bare "at" only with a spelled or unspaced dot, so "at home. Then" stays
_DOT_TIGHT = r"(?:\.|\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+)"
_EMAIL = re.compile(
    rf"[A-Za-z0-9._%+\-]+{_AT}{_DOMAIN}"
    rf"|(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+\s+at\s+[A-Za-z0-9\-]+(?:{_DOT_TIGHT}[A-Za-z0-9\-]+)*{_DOT_TIGHT}[A-Za-z]{{2,}}(?![A-Za-z0-9])",
    re.IGNORECASE)
_PATTERNS = (_EMAIL, _ID_NUMBER, _MOBILE, _FIXED)
BLOT = "*"
COORDINATE_PLACES = 3


def _normalised(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with the original index of every normalised character (a match maps back)."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        norm = _CHINESE_DIGITS.get(ch) or unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        chars.append(norm)
        origin.extend([i] * len(norm))
    return "".join(chars), origin


def personal_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds personal data, as (start, end) positions in the original text, merged."""
    norm, origin = _normalised(text)
    spans = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(norm):
            if m.end() > m.start():
                spans.append((origin[m.start()], origin[m.end() - 1] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_personal(text: str | None, *, known: Iterable[str | None] = ()) -> str:
    """`text` with phones, fixed lines, ID numbers and e-mail addresses blotted out (one `*` per character),
    and also every occurrence of the `known` values (a reporter's name and phone; names shorter than two
    characters are left, since one character occurs in too many words)."""
    if not text:
        return ""
    for value in known:
        if value and len(value.strip()) >= 2:
            text = text.replace(value, BLOT * len(value))
    out, last = [], 0
    for start, end in personal_spans(text):
        out.append(text[last:start])
        out.append(BLOT * (end - start))
        last = end
    out.append(text[last:])
    return "".join(out)


def has_personal(text: str | None) -> bool:
    """Whether `text` holds anything `mask_personal` would blot."""
    return bool(text) and bool(personal_spans(text or ""))


def coarsen(value: float | None, places: int = COORDINATE_PLACES) -> float | None:
    """A coordinate as a public surface shows it: rounded to `places` decimals (3: about 110 m)."""
    return None if value is None else round(float(value), places)


__all__ = ["COORDINATE_PLACES", "coarsen", "has_personal", "mask_personal", "personal_spans"]
