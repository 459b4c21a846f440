"""The wording of notices (`saas.wording`): a district's text is bounded in work and output. A template bomb is
refused when saved, with the reason, and one already stored fails at once when a notice is sent, never a hang."""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from saas import wording
from saas.notify import NoticeTemplateOverride, Notification, notify

BOMBS = [
    "{% for a in range(99999) %}{% for b in range(99999) %}x{% endfor %}{% endfor %}",
    "{% for a in range(99999999) %}x{% endfor %}",
    "{% for a in code %}{% for b in code %}{% for c in code %}x{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 999999999 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ code | center(999999999) }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ code.ljust(999999999) }}",
    "{{ lipsum(99999) }}",
    "{% set ns = namespace(s='x') %}{% for i in code %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "{{ code | replace('', code) | replace('', code) | replace('', code) }}",
    "{{ code | wordwrap(1) | indent(999999999) }}",
    "{% for a in code recursive %}{{ loop(code) }}{% endfor %}",
    "{{ range(99999) | list | join }}",
]
FINE = [
    "您的验证码是 {{ code }}，10 分钟内有效。",
    "案件 {{ number }}：延期{% if approved %}已批准{% else %}未批准{% endif %}",
    "{{ what | default('') | upper }} 于 {{ localtime(deadline) }}",
    "{% for name in names %}{{ loop.index }}. {{ name | trim }}{% if not loop.last %}、{% endif %}{% endfor %}",
    "{{ count + 1 }} 条，{{ description | truncate(50) }}",
]


@pytest.mark.one_backend
@pytest.mark.parametrize("bomb", BOMBS)
def test_a_template_bomb_is_refused_with_the_reason(app, bomb):
    with app.test_request_context("/"), pytest.raises(wording.WordingRefused) as refused:
        wording.check(bomb)
    assert "不允许" in refused.value.message  # Chinese by default, naming what is not allowed


@pytest.mark.one_backend
@pytest.mark.parametrize("text", FINE)
def test_ordinary_wording_passes(app, text):
    with app.test_request_context("/"):
        wording.check(text)


@pytest.mark.one_backend
def test_the_environment_bounds_what_the_rules_already_forbid(app):
    """Defence in depth: were a bomb ever compiled, the environment stops it at once."""
    with app.test_request_context("/"):
        for text in ("{% for a in range(101) %}{% endfor %}", "{{ 'x' * 20000 }}", "{{ 9 ** 999 }}",
                     "{{ '%09999d' % 1 }}", "{% for a in range(100) %}{{ s }}{% endfor %}"):
            started = time.perf_counter()
            with pytest.raises(wording.WordingRefused):
                wording.render(wording.sandbox.from_string(text), {"s": "x" * 200})
            assert time.perf_counter() - started < 1
        assert wording.render(wording.sandbox.from_string("{% for a in range(3) %}{{ a }}{% endfor %}"), {}) == "012"


def test_a_district_cannot_save_a_bomb(client, factory, tenant_a, login_as):
    login_as(factory.user(tenant_a))
    started = time.perf_counter()
    page = client.post("/t/alpha/admin/notice-templates", data={
        "kind": "auth.phone_code", "locale": "zh_CN", "title": "验证码 {{ code }}", "body": BOMBS[0]})
    assert time.perf_counter() - started < 5
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "field-error" in text
    assert "不允许" in text
    with factory.as_tenant(tenant_a) as s:
        assert s.scalars(sa.select(NoticeTemplateOverride)).all() == []


def test_a_stored_bomb_fails_fast_when_a_notice_is_sent(app, factory, tenant_a, caplog):
    from saas.modules import ModuleSpec
    from saas.notify import NoticeTemplate

    note = NoticeTemplate("probe.note", "Note", "{{ what }}", "{{ what }}")
    spec = ModuleSpec(key="probe", name_zh="探针", name_en="Probe", version="1", notices=(note,))
    user = factory.user(tenant_a)
    with factory.as_tenant(tenant_a) as s:  # stored before the rules existed, or written into the database
        s.add(NoticeTemplateOverride(kind="probe.note", locale="zh_CN", title="提醒 {{ what }}", body=BOMBS[0]))
        s.commit()
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="saas.notify"), factory.as_tenant(tenant_a) as s:
        notify(s, user.id, "probe.note", {"what": "巡查"}, registry=[spec])
        s.commit()
        item = s.scalars(sa.select(Notification)).one()
    assert time.perf_counter() - started < 5
    assert item.title == "提醒 巡查"
    assert item.body == BOMBS[0]  # the raw text: the notice is not lost, and nothing ran
    assert "notice wording refused" in caplog.text
