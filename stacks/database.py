"""Database stack: the main table, from the one table declaration."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration
from libs.resources.table import MAIN_TABLE, TableDeclaration
from stacks import discovery


class DatabaseStack(Stack):
    """``MainTable``: on-demand, encrypted with the data key, PITR, TTL, a stream for the outbox."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        data_key: kms.IKey,
        declaration: TableDeclaration = MAIN_TABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.declaration = declaration
        self.table = dynamodb.TableV2(
            self,
            declaration.logical_id,
            partition_key=_string(declaration.keys.partition),
            sort_key=_string(declaration.keys.sort),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=_string(index.keys.partition),
                    sort_key=_string(index.keys.sort),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for index in declaration.indexes
            ],
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(data_key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=declaration.ttl_attribute,
            dynamo_stream=dynamodb.StreamViewType[declaration.stream_view],
            deletion_protection=environment.retain_data,
            removal_policy=(
                RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
            ),
            contributor_insights_specification=dynamodb.ContributorInsightsSpecification(
                enabled=environment.contributor_insights
            ),
        )
        CfnOutput(self, "TableName", value=self.table.table_name)
        discovery.publish(
            self,
            environment,
            "database",
            {"table-name": self.table.table_name, "table-arn": self.table.table_arn},
        )

    @property
    def index_arns(self) -> list[str]:
        """ARNs of the table's declared indexes (for IAM: no ``index/*`` wildcard)."""
        return [f"{self.table.table_arn}/index/{index.name}" for index in self.declaration.indexes]


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)
