"""Provisioning creates exactly what libs/resources declares, and reuses what already exists."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from aiobotocore.session import get_session

from emulator.backends import Backend, start_backend
from emulator.provision import function_environment, provision
from libs import config
from libs.resources.event_bus import EVENT_BUS
from libs.resources.keys import PII_KEY
from libs.resources.table import MAIN_TABLE
from libs.resources.user_pool import USER_POOL
from libs.stack_outputs import StackOutputs

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    backend = start_backend("moto")
    yield backend
    backend.stop()


@pytest.fixture(scope="module")
async def outputs(backend: Backend) -> StackOutputs:
    return await provision(backend.endpoint_url, backend.region)


def _options(backend: Backend) -> dict[str, Any]:
    return {"endpoint_url": backend.endpoint_url, "region_name": backend.region}


@pytest.fixture(scope="module")
async def cognito(backend: Backend) -> AsyncIterator[CognitoIdentityProviderClient]:
    async with get_session().create_client("cognito-idp", **_options(backend)) as client:
        yield client


async def test_table_has_the_declared_keys_indexes_stream_and_ttl(
    backend: Backend, outputs: StackOutputs
) -> None:
    async with get_session().create_client("dynamodb", **_options(backend)) as dynamodb:
        table = (await dynamodb.describe_table(TableName=outputs.table_name))["Table"]
        ttl = await dynamodb.describe_time_to_live(TableName=outputs.table_name)
    assert outputs.table_name == "serverless-blueprint-MainTable"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": MAIN_TABLE.keys.partition, "KeyType": "HASH"},
        {"AttributeName": MAIN_TABLE.keys.sort, "KeyType": "RANGE"},
    ]
    attributes = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert attributes == dict.fromkeys(MAIN_TABLE.attribute_names, "S")
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index.name for index in MAIN_TABLE.indexes}
    for declared in MAIN_TABLE.indexes:
        assert indexes[declared.name]["KeySchema"] == [
            {"AttributeName": declared.keys.partition, "KeyType": "HASH"},
            {"AttributeName": declared.keys.sort, "KeyType": "RANGE"},
        ]
        assert indexes[declared.name]["Projection"] == {"ProjectionType": "ALL"}
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": MAIN_TABLE.stream_view,
    }
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": MAIN_TABLE.ttl_attribute,
    }


async def test_user_pool_signs_in_by_email_under_the_declared_password_policy(
    cognito: CognitoIdentityProviderClient, outputs: StackOutputs
) -> None:
    pool = (await cognito.describe_user_pool(UserPoolId=outputs.user_pool_id))["UserPool"]
    policy = USER_POOL.password_policy
    assert pool["Name"] == USER_POOL.pool_name
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    declared = {
        "MinimumLength": policy.minimum_length,
        "RequireUppercase": policy.require_uppercase,
        "RequireLowercase": policy.require_lowercase,
        "RequireNumbers": policy.require_digits,
        "RequireSymbols": policy.require_symbols,
    }
    actual = pool["Policies"]["PasswordPolicy"]
    assert {rule: actual.get(rule) for rule in declared} == declared
    groups = await cognito.list_groups(UserPoolId=outputs.user_pool_id)
    assert {group["GroupName"] for group in groups["Groups"]} == set(USER_POOL.groups)


async def test_app_client_is_public_with_the_declared_flows_and_token_lifetimes(
    cognito: CognitoIdentityProviderClient, outputs: StackOutputs
) -> None:
    client = (
        await cognito.describe_user_pool_client(
            UserPoolId=outputs.user_pool_id, ClientId=outputs.user_pool_client_id
        )
    )["UserPoolClient"]
    assert client["ClientName"] == USER_POOL.client_name
    assert "ClientSecret" not in client
    assert client["ExplicitAuthFlows"] == [f"ALLOW_{flow}" for flow in USER_POOL.auth_flows]
    assert (
        client["AccessTokenValidity"],
        client["IdTokenValidity"],
        client["RefreshTokenValidity"],
    ) == (USER_POOL.access_token_minutes, USER_POOL.id_token_minutes, USER_POOL.refresh_token_days)
    assert client["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "days",
    }
    assert client["PreventUserExistenceErrors"] == "ENABLED"


async def test_event_bus_exists(backend: Backend, outputs: StackOutputs) -> None:
    async with get_session().create_client("events", **_options(backend)) as events:
        bus = await events.describe_event_bus(Name=outputs.event_bus_name)
    assert bus["Name"] == EVENT_BUS.name


async def test_the_personal_fields_key_exists_under_its_alias_and_rotates(
    backend: Backend, outputs: StackOutputs
) -> None:
    async with get_session().create_client("kms", **_options(backend)) as kms:
        key = (await kms.describe_key(KeyId=f"alias/{PII_KEY.alias}"))["KeyMetadata"]
        rotation = await kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert key["Arn"] == outputs.pii_key_arn
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert rotation["KeyRotationEnabled"]


async def test_provisioning_again_reuses_every_resource(
    backend: Backend, outputs: StackOutputs
) -> None:
    # When provisioning runs again against the same endpoint
    again = await provision(backend.endpoint_url, backend.region)
    # Then it finds the same resources instead of failing or duplicating them
    assert again == outputs


def test_outputs_serialize_to_the_stacks_output_keys(outputs: StackOutputs) -> None:
    document = msgspec.json.decode(msgspec.json.encode(outputs))
    assert list(document) == [
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "TableName",
        "EventBusName",
        "Region",
        "AwsEndpointUrl",
        "PiiKeyArn",
    ]


def test_function_environment_names_every_resource(outputs: StackOutputs) -> None:
    environment = function_environment(outputs)
    assert environment[config.TABLE_NAME] == outputs.table_name
    assert environment[config.EVENT_BUS_NAME] == outputs.event_bus_name
    assert environment[config.USER_POOL_ID] == outputs.user_pool_id
    assert environment[config.USER_POOL_CLIENT_ID] == outputs.user_pool_client_id
    assert environment[config.PII_KEY_ARN] == outputs.pii_key_arn
    assert environment["AWS_ENDPOINT_URL"] == outputs.aws_endpoint_url
    assert environment["AWS_REGION"] == environment["AWS_DEFAULT_REGION"] == outputs.region
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert "POWERTOOLS_DEV" not in environment
    assert environment["AWS_ACCESS_KEY_ID"]
    assert environment["AWS_SECRET_ACCESS_KEY"]
