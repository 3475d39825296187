"""The caller's identity as API Gateway's JWT authorizer passes it."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from libs.caller import caller_of, parse_groups
from libs.problems import Unauthorized


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        ("[admin ops]", {"admin", "ops"}),
        ("[admin]", {"admin"}),
        ("[]", set()),
        (None, set()),
        (["admin"], {"admin"}),
    ],
)
def test_groups_are_parsed_from_api_gateways_string_form(
    claim: str | list[str] | None, groups: set[str]
) -> None:
    assert parse_groups(claim) == groups


def test_the_caller_comes_from_the_verified_claims() -> None:
    raw = {
        "requestContext": {
            "authorizer": {"jwt": {"claims": {"sub": "u-1", "cognito:groups": "[admin]"}}}
        }
    }
    caller = caller_of(APIGatewayProxyEventV2(raw))
    assert caller.user_id == "u-1"
    assert caller.in_group("admin")


def test_no_claims_means_unauthorized() -> None:
    with pytest.raises(Unauthorized):
        caller_of(APIGatewayProxyEventV2({"requestContext": {}}))
