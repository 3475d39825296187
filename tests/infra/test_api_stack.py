"""API stack: routes from the declaration, the JWT authorizer on exactly the protected ones."""

from __future__ import annotations

import json

from libs.resources.api_routes import ROUTES
from libs.resources.caching import CATALOG_CACHE
from libs.resources.environments import ENVIRONMENTS
from libs.stack_outputs import StackOutputs
from tests.infra.conftest import Synthesized

# CloudFront's managed CachingDisabled policy.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def routes_by_key(synthesized: Synthesized) -> dict[str, dict[str, object]]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in synthesized.resources("AWS::ApiGatewayV2::Route", "Api").values()
    }


def test_every_declared_route_and_nothing_else(synthesized: Synthesized) -> None:
    assert sorted(routes_by_key(synthesized)) == sorted(r.route_key for r in ROUTES)


def test_jwt_authorizer_on_exactly_the_routes_declared_jwt(synthesized: Synthesized) -> None:
    # Given the declaration's protected and public routes
    protected = {r.route_key for r in ROUTES if r.auth == "jwt"}
    # When the API is synthesized
    routes = routes_by_key(synthesized)
    # Then the authorizer guards exactly the protected routes
    guarded = {key for key, route in routes.items() if route.get("AuthorizationType") == "JWT"}
    assert guarded == protected
    assert all(
        route.get("AuthorizationType", "NONE") == "NONE"
        for key, route in routes.items()
        if key not in protected
    )


def test_authorizer_trusts_the_user_pool_issuer_and_the_app_client(
    synthesized: Synthesized,
) -> None:
    authorizer = synthesized.only("AWS::ApiGatewayV2::Authorizer", "Api")["Properties"]
    configuration = authorizer["JwtConfiguration"]
    issuer = json.dumps(configuration["Issuer"])
    assert "https://cognito-idp.us-east-1.amazonaws.com/" in issuer
    assert "UserPool" in issuer
    (audience,) = configuration["Audience"]
    assert "AppClient" in json.dumps(audience)
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]


def test_each_route_invokes_its_declared_functions_live_alias(synthesized: Synthesized) -> None:
    permissions = synthesized.resources("AWS::Lambda::Permission", "Api").values()
    targets = {
        json.dumps(p["Properties"]["FunctionName"])
        for p in permissions
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    }
    services = {route.function for route in ROUTES}
    assert len(targets) == len(services)
    assert all("Live" in target for target in targets)


def test_stage_throttling_cors_and_json_access_logs_per_environment(
    synthesized: Synthesized,
) -> None:
    environment = ENVIRONMENTS[synthesized.name]
    stage = synthesized.only("AWS::ApiGatewayV2::Stage", "Api")["Properties"]
    settings = stage["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == environment.throttle_rate_per_second
    assert settings["ThrottlingBurstLimit"] == environment.throttle_burst
    assert settings["DetailedMetricsEnabled"] is True
    access_log = json.loads(stage["AccessLogSettings"]["Format"])
    assert access_log["requestId"] == "$context.requestId"
    assert access_log["status"] == "$context.status"
    cors = synthesized.only("AWS::ApiGatewayV2::Api", "Api")["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == list(environment.cors_origins)
    assert "Authorization" in cors["AllowHeaders"]


def test_cloudfront_with_waf_fronts_the_api_in_prod_only(
    dev: Synthesized, prod: Synthesized
) -> None:
    assert dev.resources("AWS::CloudFront::Distribution") == {}
    assert dev.only("AWS::WAFv2::WebACL")["Properties"]["Scope"] == "REGIONAL"
    distribution = prod.only("AWS::CloudFront::Distribution", "Api")["Properties"]
    config = distribution["DistributionConfig"]
    assert "EdgeAcl" in json.dumps(config["WebACLId"])
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    (origin,) = config["Origins"]
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    assert "resolve:secretsmanager" in json.dumps(header["HeaderValue"])
    scopes = {acl["Properties"]["Scope"] for acl in prod.resources("AWS::WAFv2::WebACL").values()}
    assert scopes == {"REGIONAL", "CLOUDFRONT"}


def test_outputs_use_the_emulators_keys(synthesized: Synthesized) -> None:
    outputs = {key for t in synthesized.templates.values() for key in t.get("Outputs", {})}
    # Only an emulator has an endpoint of its own, and a CA bundle to verify it with.
    local_only = {"AwsEndpointUrl", "AwsCaBundle"}
    expected = {f for f in StackOutputs.__struct_encode_fields__ if f not in local_only}
    assert expected <= outputs


def test_prod_caches_the_declared_catalog_paths_only_keyed_on_their_query(
    prod: Synthesized,
) -> None:
    # Given the prod distribution and the declared cache policy
    config = prod.only("AWS::CloudFront::Distribution", "Api")["Properties"]["DistributionConfig"]
    policies = prod.resources("AWS::CloudFront::CachePolicy", "Api")
    # Then every path keeps nothing except the catalog's, which has a behaviour of its own
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_DISABLED
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert sorted(behaviours) == sorted(CATALOG_CACHE.path_patterns)
    for behaviour in behaviours.values():
        # Keyed on the query parameters that change the answer, never on cookies
        (policy_id,) = policies
        assert behaviour["CachePolicyId"] == {"Ref": policy_id}
        policy = policies[policy_id]["Properties"]["CachePolicyConfig"]
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert key["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
        assert sorted(key["QueryStringsConfig"]["QueryStrings"]) == sorted(CATALOG_CACHE.query_keys)
        assert key["CookiesConfig"]["CookieBehavior"] == "none"
        # The token goes through for the writes on the same paths (CloudFront forwards it only
        # in the key); anonymous reads share their entries
        assert sorted(key["HeadersConfig"]["Headers"]) == ["Authorization", "Origin"]
        # The function's Cache-Control sets the time; an answer without one is not kept
        assert policy["DefaultTTL"] == 0
        assert policy["MaxTTL"] == CATALOG_CACHE.max_age_seconds
        # Beyond the key, the functions get what writes and CORS preflights need, no cookies
        (request_id,) = prod.resources("AWS::CloudFront::OriginRequestPolicy", "Api")
        assert behaviour["OriginRequestPolicyId"] == {"Ref": request_id}
        forwarded = prod.resources("AWS::CloudFront::OriginRequestPolicy", "Api")[request_id]
        request = forwarded["Properties"]["OriginRequestPolicyConfig"]
        assert "Content-Type" in request["HeadersConfig"]["Headers"]
        assert request["CookiesConfig"]["CookieBehavior"] == "none"
        # Writes pass through; only GET and HEAD answers are kept
        assert "POST" in behaviour["AllowedMethods"]
        assert "PUT" in behaviour["AllowedMethods"]
        assert sorted(behaviour["CachedMethods"]) == ["GET", "HEAD"]
        # The same origin as every other path, so CloudFront's secret reaches the origin check
        assert behaviour["TargetOriginId"] == config["DefaultCacheBehavior"]["TargetOriginId"]
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
    # And no error answer is kept, on any path
    errors = {e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in config["CustomErrorResponses"]}
    assert {404, 500, 502, 503, 504} <= set(errors)
    assert set(errors.values()) == {0}
