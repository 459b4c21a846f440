"""Chinese first: the Simplified Chinese catalogue keeps up with the code, and Chinese is what people get by default.

The catalogue tests extract the messages from the current source with babel.cfg (as scripts/i18n.sh
does), so a new `_()` without a translation fails here until `scripts/i18n.sh` is run and the new
msgids are translated. Fix a failure with:

    scripts/i18n.sh            # extract, merge into messages.po, compile
    scripts/i18n.sh missing    # list what still needs a translation
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.plugin import bearer, text_of

try:
    from babel.messages.frontend import parse_mapping_cfg
except ImportError:  # babel < 2.15
    from babel.messages.frontend import parse_mapping as parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "saas" / "translations"
# catalogue directories, named as Babel resolves the configured locale: Locale.parse("zh_CN") is zh_Hans_CN
LANGUAGES = ("zh_Hans_CN",)
# keep in step with scripts/i18n.sh (KEYWORDS): lazy_gettext is imported as `_l`
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}

# msgids whose right Chinese has no Chinese character (a product name, say); none so far
LATIN_ONLY: frozenset[str] = frozenset()
# printf-style (`%(name)s`, `%s`, `%%`; Jinja formats every template string with %, so a stray % breaks it)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]?")
# str.format-style (`{min}`), used by marshmallow's messages
_BRACE = re.compile(r"\{[^{}]*\}")
# template strings are Markup: a translation must not bring tags the English has not got
_TAG = re.compile(r"<[^<>]*>")


def _po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def _read(lang: str) -> Catalog:
    with _po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def _source_messages() -> dict[tuple[str, str | None], set[str]]:
    """(msgid, context) -> the files it occurs in, extracted from the code as it is now."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[tuple[str, str | None], set[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((msgid, context), set()).add(filename)
    return found


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def _placeholders(text: str) -> Counter[str]:
    return Counter(_PERCENT.findall(text)) + Counter(_BRACE.findall(text))


@pytest.fixture(scope="module")
def source_messages() -> dict[tuple[str, str | None], set[str]]:
    found = _source_messages()
    assert len(found) > 100, "extraction found almost nothing: is babel.cfg right?"
    return found


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues() -> None:
    """Compile a .po newer than its .mo (what `scripts/i18n.sh compile` does at set-up), so pages use it."""
    changed = False
    for lang in LANGUAGES:
        po, mo = _po_path(lang), _po_path(lang).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, _read(lang))
        os.replace(tmp, mo)  # atomic: parallel workers never read half a file
        changed = True
    if changed:
        from saas.i18n import babel

        domain = babel.__dict__.get("domain_instance")  # a cached_property, made at the first request
        if domain is not None:
            domain.cache.clear()  # translations are cached per process, not per app


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_in_the_code_has_a_translation(lang, source_messages):
    catalog = _read(lang)
    missing, fuzzy, empty = [], [], []
    for (msgid, context), files in sorted(source_messages.items(), key=lambda kv: kv[0][0]):
        message = catalog.get(msgid, context)
        where = f"{msgid!r} ({', '.join(sorted(files))})"
        if message is None:
            missing.append(where)
        elif message.fuzzy:
            fuzzy.append(where)
        elif not all(s.strip() for s in _strings(message)):
            empty.append(where)
    problems = [f"not in {lang}/messages.po (run scripts/i18n.sh): {m}" for m in missing]
    problems += [f"fuzzy: {m}" for m in fuzzy] + [f"untranslated: {m}" for m in empty]
    assert not problems, f"{len(problems)} msgids lack a {lang} translation:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders_and_add_no_markup(lang):
    catalog = _read(lang)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
        tags = Counter(_TAG.findall(" ".join(ids)))
        for text in _strings(message):
            if not text:
                continue
            got = _placeholders(text)
            if len(ids) == 1:
                if got != _placeholders(ids[0]):
                    problems.append(f"{ids[0]!r}: placeholders {sorted(_placeholders(ids[0]).elements())} "
                                    f"but {text!r} has {sorted(got.elements())}")
            else:
                # Chinese has one plural form, used for every count: it may use the placeholders of either
                # English form (ngettext always passes num) and must keep those of the plural one
                allowed = set(_placeholders(ids[0])) | set(_placeholders(ids[1])) | {"%(num)s", "%(num)d"}
                needed = set(_placeholders(ids[1])) - {"%(num)s", "%(num)d"}
                if not set(got) <= allowed or not needed <= set(got):
                    problems.append(f"{ids[1]!r}: placeholders {sorted(needed)} but {text!r} has {sorted(got)}")
            if Counter(_TAG.findall(text)) - tags:
                problems.append(f"{ids[0]!r}: {text!r} adds markup")
    problems += [f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_is_in_chinese(lang):
    """A translation equal to the English, or without a single Chinese character, is a forgotten one."""
    latin_only = [m.id for m in _read(lang) if m.id and m.id not in LATIN_ONLY
                  and not any("\u4e00" <= ch <= "\u9fff" for s in _strings(m) for ch in s)]
    assert not latin_only, latin_only


def test_org_kinds_shown_with_a_variable_are_in_the_catalogue(source_messages):
    """Templates translate a unit's kind with `_(u.kind)`, which extraction cannot see: the kinds are marked."""
    from tenants.models import ORG_KIND_LABELS, ORG_KINDS

    assert set(ORG_KIND_LABELS) == set(ORG_KINDS)
    assert {kind for kind in ORG_KINDS if (kind, None) not in source_messages} == set()


@pytest.mark.one_backend
def test_app_reads_the_catalogues_from_saas_translations(app):
    """Flask-Babel finds the catalogue of each configured language where scripts/i18n.sh writes it."""
    with app.test_request_context("/"):
        assert [Path(d).resolve() for d in app.extensions["babel"].translation_directories] == [TRANSLATIONS.resolve()]
    for lang in app.config["LANGUAGES"]:
        if lang != "en":
            assert str(Locale.parse(lang)) in LANGUAGES
            assert _po_path(str(Locale.parse(lang))).exists()


@pytest.mark.one_backend
def test_pages_are_chinese_by_default(client, tenant_a):
    response = client.get("/t/alpha/login")
    assert response.status_code == 200
    text = text_of(response.get_data(as_text=True))
    assert "工作人员登录" in text
    assert "用户名或手机号" in text
    assert "Staff sign-in" not in text
    assert 'lang="zh-CN"' in response.get_data(as_text=True)


@pytest.mark.one_backend
def test_pages_are_english_after_switching_language(client, tenant_a):
    response = client.post("/lang", data={"lang": "en", "next": "/t/alpha/login"})
    assert response.status_code == 302
    with client.session_transaction() as sess:
        assert sess["lang"] == "en"
    text = text_of(client.get("/t/alpha/login").get_data(as_text=True))
    assert "Staff sign-in" in text
    assert "工作人员登录" not in text

    client.post("/lang", data={"lang": "zh_CN", "next": "/t/alpha/login"})
    assert "工作人员登录" in text_of(client.get("/t/alpha/login").get_data(as_text=True))


@pytest.mark.one_backend
def test_org_kinds_are_translated_on_the_org_page(client, factory, tenant_a, login_as):
    street = factory.unit(tenant_a, "street", "S01", name="京城路街道")
    factory.unit(tenant_a, "community", "C01", "S01", name="晋祠路社区")
    login_as(factory.user(tenant_a))
    text = text_of(client.get("/t/alpha/admin/org").get_data(as_text=True))
    assert "街道 京城路街道" in text
    opened = text_of(client.get(f"/t/alpha/admin/org?unit={street.id}").get_data(as_text=True))
    assert "社区 晋祠路社区" in opened
    assert "community" not in text + opened


@pytest.mark.one_backend
def test_api_validation_errors_are_chinese_by_default(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    response = client.post("/api/v1/t/alpha/grid_cases/categories", headers=bearer(token),
                           json={"name": "", "deadline_days": 0, "colour": "red"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["message"] == "部分字段填写有误。"
    assert body["errors"]["code"] == ["此项为必填项。"]
    assert body["errors"]["name"] == ["此项为必填项。"]
    assert body["errors"]["deadline_days"] == ["须在 1 到 90 之间。"]
    assert body["errors"]["colour"] == ["未知字段。"]


@pytest.mark.one_backend
def test_api_answers_in_english_when_asked(client, factory, tenant_a):
    token = factory.token(factory.user(tenant_a))
    response = client.post("/api/v1/t/alpha/grid_cases/categories",
                           headers={**bearer(token), "Accept-Language": "en"}, json={"deadline_days": 0})
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] == "Some fields are not valid."
    assert body["errors"]["deadline_days"] == ["Must be greater than or equal to 1 and less than or equal to 90."]
