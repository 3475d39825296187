"""API stack: the HTTP API, its routes generated from the one route declaration.

Routes with ``auth="jwt"`` carry API Gateway's native JWT authorizer (issuer: the user pool,
audience: the app client); the others carry none. Group checks stay in the functions (403).
Where the environment asks for edge protection, CloudFront with AWS WAF fronts the API (WAF
cannot be associated with an HTTP API; see ``stacks.security``).
"""

from __future__ import annotations

import json
from typing import Any, cast

from aws_cdk import CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from libs.resources.api_routes import ROUTES, Route
from libs.resources.environments import EnvironmentDeclaration
from stacks import discovery, nag
from stacks.bundling import FunctionBundler
from stacks.functions import ServiceFunction, retention
from stacks.origin_secret_rotation import OriginSecretRotation

# The header CloudFront adds to every origin request, valued from the origin secret.
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
_ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")

# One JSON object per request; field names follow API Gateway's context variables.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "userId": "$context.authorizer.claims.sub",
    "userAgent": "$context.identity.userAgent",
}


class ApiStack(Stack):
    """The HTTP API, its stage (throttling, access logs, route metrics) and, in prod, its edge."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        functions: dict[str, ServiceFunction],
        jwt_issuer: str,
        jwt_audience: str,
        edge_acl: wafv2.CfnWebACL | None = None,
        origin_secret: secretsmanager.ISecret | None = None,
        bundler: FunctionBundler | None = None,
        routes: tuple[Route, ...] = ROUTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.api = apigateway.HttpApi(
            self,
            "HttpApi",
            api_name=environment.stack_prefix,
            create_default_stage=False,
            cors_preflight=apigateway.CorsPreflightOptions(
                allow_origins=list(environment.cors_origins),
                allow_methods=_cors_methods(routes),
                allow_headers=list(_ALLOWED_HEADERS),
                max_age=Duration.hours(1),
            ),
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(environment.log_retention_days),
            removal_policy=(
                RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
            ),
        )
        self.stage = apigateway.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigateway.ThrottleSettings(
                rate_limit=environment.throttle_rate_per_second,
                burst_limit=environment.throttle_burst,
            ),
            detailed_metrics_enabled=True,  # per-route latency, for the per-route SLO alarms
        )
        # The L2 stage's one CloudFormation resource (typed only as a construct by jsii).
        stage_resource = cast(apigateway.CfnStage, self.stage.node.default_child)
        stage_resource.access_log_settings = apigateway.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn,
            format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        )
        authorizer = authorizers.HttpJwtAuthorizer(
            "CognitoJwt",
            jwt_issuer=jwt_issuer,
            jwt_audience=[jwt_audience],
            authorizer_name="cognito-jwt",
        )
        targets = {
            key: integrations.HttpLambdaIntegration(f"{key}-integration", function.alias)
            for key, function in functions.items()
        }
        for route in routes:
            http_route = apigateway.HttpRoute(
                self,
                _route_id(route),
                http_api=self.api,
                route_key=apigateway.HttpRouteKey.with_(
                    route.path, apigateway.HttpMethod[route.method]
                ),
                integration=targets[route.function],
                authorizer=authorizer if route.auth == "jwt" else None,
            )
            if route.auth == "none":
                nag.accept(
                    http_route,
                    "APIG4",
                    "Public by declaration (libs/resources/api_routes.py): catalog reads, "
                    "sign-up and log-in, and the ANY routes that answer 405.",
                )
        self.url = self.api.api_endpoint
        self.distribution: cloudfront.Distribution | None = None
        self.origin_secret_rotation: OriginSecretRotation | None = None
        if environment.edge_protection:
            if edge_acl is None or origin_secret is None:
                raise ValueError("edge protection needs the edge web ACL and the origin secret")
            self.distribution = self._edge(environment, edge_acl, origin_secret)
            if bundler is None:
                raise ValueError("edge protection rotates its origin secret: it needs a bundler")
            self.origin_secret_rotation = OriginSecretRotation(
                self,
                "OriginSecretRotation",
                environment=environment,
                secret=origin_secret,
                distribution=self.distribution,
                bundler=bundler,
            )
            self.url = f"https://{self.distribution.distribution_domain_name}"
        CfnOutput(self, "ApiUrl", value=self.url)
        CfnOutput(self, "Region", value=self.region)
        discovery.publish(self, environment, "api", {"url": self.url})

    def _edge(
        self,
        environment: EnvironmentDeclaration,
        acl: wafv2.CfnWebACL,
        origin_secret: secretsmanager.ISecret,
    ) -> cloudfront.Distribution:
        log_bucket = s3.Bucket(
            self,
            "EdgeLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront's standard logs are delivered with an ACL.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(environment.log_retention_days))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        domain = Fn.select(2, Fn.split("/", self.api.api_endpoint))
        distribution = cloudfront.Distribution(
            self,
            "Edge",
            comment=f"{environment.stack_prefix} API behind AWS WAF",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    domain,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    custom_headers={
                        ORIGIN_VERIFY_HEADER: origin_secret.secret_value.unsafe_unwrap()
                    },
                ),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
            web_acl_id=acl.attr_arn,
            enable_logging=True,
            log_bucket=log_bucket,
        )
        nag.accept(
            log_bucket,
            "S1",
            "This bucket receives CloudFront's access logs; logging access to it would need "
            "another bucket, and that one a third.",
        )
        nag.accept(
            distribution,
            "CFR1",
            "The API serves every country; the web ACL's rate limit and rules apply instead.",
        )
        nag.accept(
            distribution,
            "CFR4",
            "The default *.cloudfront.net certificate fixes the TLS policy; a custom domain "
            "with an ACM certificate and TLSv1.2_2021 comes with the product's domain name.",
        )
        return distribution


def _cors_methods(routes: tuple[Route, ...]) -> list[apigateway.CorsHttpMethod]:
    declared = {route.method for route in routes if route.method != "ANY"}
    return [apigateway.CorsHttpMethod[method] for method in sorted(declared)]


def _route_id(route: Route) -> str:
    path = "".join(
        part.strip("{}").title() for part in route.path.replace("-", "/").split("/") if part
    )
    return f"{route.method.title()}{path}Route"
