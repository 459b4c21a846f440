"""The OpenAPI document is valid and true: schemathesis fuzzes every operation it lists.

Each operation gets positive and negative cases (hypothesis) as the district admin of a seeded district,
and every answer must be no server error, a status code the document lists for the operation, the
content type it names and a body that matches its schema. Operations are read from the document, so a
new endpoint is fuzzed without editing this file. Run on both backends; PostgreSQL is the one that
refuses NUL bytes and integers past 64 bits.

schemathesis's own pytest integration (`from_fixture` + `parametrize`) does not run on pytest 9.2 (it
rewrites `Function._nodeid`, which pytest no longer has), so each operation is a subtest here instead;
a failure names the operation's method and path.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.plugin import bearer

# a view that raises answers 500 through the kernel's handler, as in production, instead of raising into
# the test: schemathesis then reports the operation and the case
pytestmark = pytest.mark.config(HANDLE_UNEXPECTED=True)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# a few hundred cases in all over about twenty operations; WGT_FUZZ_EXAMPLES raises it for a longer hunt
EXAMPLES = int(os.environ.get("WGT_FUZZ_EXAMPLES", "20"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database to replay from: a failure prints its case instead
    derandomize=True,  # the same cases on every run, so CI does not flake on a new example
    # the app fixture is shared by every example on purpose: rows the fuzzer creates stay for the next case
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
    print_blob=False,
)


@pytest.mark.one_backend
def test_openapi_document_validates(client):
    document = client.get("/api/openapi.json").json
    validate(document)
    assert document["paths"], "the document lists no operation"


def load_schema(app: Any, district: Any) -> Any:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.update(headers=bearer(district.token))
    return schema


def test_every_operation_answers_as_documented(app, factory, district, known_values, subtests):
    schema = load_schema(app, district)
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()  # an operation the document describes badly fails here, with its name
        operations.append(operation)
    assert len(operations) >= 10, [op.label for op in operations]
    for operation in operations:
        # an operation before may have switched a module off; each starts with every module on again
        for spec in app.extensions["saas.modules"]:
            factory.enable_module(district.tenant, spec.key)
        with subtests.test(msg=operation.label):
            run_operation(operation, district.slug, known_values)


def run_operation(operation: Any, tenant: str, known: dict[str, list[str]]) -> None:
    fixed = {"tenant": tenant}
    strategies = [
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE, path_parameters=fixed),
    ]
    path_seeds = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    query_seeds = {p.name: known[p.name] for p in operation.query if p.name in known}
    if path_seeds or query_seeds:
        picked = st.fixed_dictionaries({name: st.sampled_from(values)
                                        for name, values in {**path_seeds, **query_seeds}.items()})
        strategies.append(picked.flatmap(lambda values: operation.as_strategy(
            schemathesis.GenerationMode.POSITIVE,
            path_parameters={**fixed, **{k: v for k, v in values.items() if k in path_seeds}},
            query={k: v for k, v in values.items() if k in query_seeds} or None,
        )))

    @FUZZ_SETTINGS
    @given(case=st.one_of(strategies))
    def fuzz(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    try:
        fuzz()
    except hypothesis.errors.Unsatisfiable:
        # an operation the fuzzer cannot reach is a gap in the gate, not a pass
        pytest.fail(f"{operation.label}: no case could be generated")
