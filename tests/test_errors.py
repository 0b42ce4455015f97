"""The error tree: statuses, codes, built-in bases, and the one shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from privacyops import errors
from privacyops.web.app import create_app


def test_every_error_class_is_exported_and_documented() -> None:
    classes = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.PrivacyOpsError)
    }
    assert classes == set(errors.__all__)
    for name in classes:
        assert name in (errors.__doc__ or ""), f"{name} missing from the tree in the docstring"


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (errors.InvalidInput, ValueError),
        (errors.ManifestInvalid, ValueError),
        (errors.NotFound, LookupError),
        (errors.PermissionDenied, PermissionError),
    ],
)
def test_errors_subclass_the_builtin_a_caller_expects(cls: type, base: type) -> None:
    assert issubclass(cls, base)


def test_shape_of_domain_error() -> None:
    exc = errors.UndeclaredData("Field not declared", details=[{"loc": ["x"], "msg": "nope"}])
    assert exc.to_dict() == {
        "error": {
            "code": "undeclared_data",
            "message": "Field not declared",
            "details": [{"loc": ["x"], "msg": "nope"}],
        }
    }


def test_unknown_route_answers_in_the_one_shape(settings) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(settings))
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}
