"""Open311's two formats from one description of an answer: XML as the spec writes it, JSON by its Spark
convention (the XML's root dropped, a list of elements becomes an array, an empty element null).

An answer is a root element name and a value: a dict (child elements in the spec's order), a `Many` (a list
whose XML elements have one name, `<service>` in `<services>`), a string, number, boolean or None. XML
starts with the declaration the spec asks for, `<?xml version="1.0" encoding="UTF-8"?>`; both formats are
sent as UTF-8 and say so in their content type.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclasses.dataclass(frozen=True)
class Many:
    item: str  # the XML name of each element
    values: list[Any]


def to_json(value: Any) -> Any:
    if isinstance(value, Many):
        return [to_json(v) for v in value.values]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Many):
        for v in value.values:
            _fill(ET.SubElement(element, value.item), v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _fill(ET.SubElement(element, k), v)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))


def to_xml(root: str, value: Any) -> str:
    element = ET.Element(root)
    _fill(element, value)
    return DECLARATION + ET.tostring(element, encoding="unicode")


def render(fmt: str, root: str, value: Any, status: int = 200) -> Response:
    body = json.dumps(to_json(value), ensure_ascii=False) if fmt == "json" else to_xml(root, value)
    response = Response(body.encode("utf-8"), status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["xml"]))
    # the language follows Accept-Language (saas.i18n): a cache must keep the answers apart
    response.vary.add("Accept-Language")
    return response


def errors(fmt: str, status: int, items: list[tuple[int, str]]) -> Response:
    """The spec's error array: one `<error>` with a code and a description per problem."""
    return render(fmt, "errors", Many("error", [{"code": code, "description": text} for code, text in items]),
                  status)
