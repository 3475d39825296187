"""Cognito stack: the user pool, its groups and the public app client, from the declaration."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from libs.resources.environments import EnvironmentDeclaration
from libs.resources.naming import resource_name
from libs.resources.user_pool import USER_POOL, UserPoolDeclaration
from stacks import discovery, nag


class CognitoStack(Stack):
    """Email sign-in, the declared password policy, short access tokens, no client secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentDeclaration,
        web_acl: wafv2.CfnWebACL,
        declaration: UserPoolDeclaration = USER_POOL,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        policy = declaration.password_policy
        self.user_pool = cognito.UserPool(
            self,
            declaration.logical_id,
            user_pool_name=resource_name(declaration.pool_name, environment.name),
            self_sign_up_enabled=True,  # POST /auth/register
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=policy.minimum_length,
                require_uppercase=policy.require_uppercase,
                require_lowercase=policy.require_lowercase,
                require_digits=policy.require_digits,
                require_symbols=policy.require_symbols,
            ),
            # Threat protection (compromised credentials, adaptive authentication) needs Plus.
            feature_plan=(
                cognito.FeaturePlan.PLUS
                if environment.enforce_threat_protection
                else cognito.FeaturePlan.ESSENTIALS
            ),
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION
                if environment.enforce_threat_protection
                else None
            ),
            deletion_protection=environment.retain_data,
            removal_policy=(
                RemovalPolicy.RETAIN if environment.retain_data else RemovalPolicy.DESTROY
            ),
        )
        nag.accept(
            self.user_pool,
            "COG1",
            "The declared policy (libs/resources/user_pool.py) asks for length, cases and digits "
            "but no symbol: composition rules add little (NIST SP 800-63B), and threat "
            "protection rejects compromised passwords where it is enforced.",
        )
        nag.accept(
            self.user_pool,
            "COG2",
            "MFA is not offered yet: the auth service's USER_PASSWORD_AUTH flow has no "
            "challenge step, so requiring MFA would lock every user out.",
        )
        if not environment.enforce_threat_protection:
            nag.accept(
                self.user_pool,
                "COG3",
                "Threat protection (Plus plan, billed per active user) is enforced in prod only.",
            )
            nag.accept(
                self.user_pool,
                "COG8",
                "The Plus feature plan is billed per active user: prod is on it, dev is not.",
            )
        for group in declaration.groups:
            cognito.UserPoolGroup(
                self, f"Group{group.title()}", user_pool=self.user_pool, group_name=group
            )
        self.client = self.user_pool.add_client(
            "AppClient",
            user_pool_client_name=declaration.client_name,
            generate_secret=False,  # a public client: browsers and scripts cannot keep a secret
            auth_flows=_auth_flows(declaration.auth_flows),
            access_token_validity=Duration.minutes(declaration.access_token_minutes),
            id_token_validity=Duration.minutes(declaration.id_token_minutes),
            refresh_token_validity=Duration.days(declaration.refresh_token_days),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            disable_o_auth=True,  # no hosted UI: the auth service is the only front door
        )
        wafv2.CfnWebACLAssociation(
            self,
            "UserPoolAcl",
            resource_arn=self.user_pool.user_pool_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.client.user_pool_client_id)
        discovery.publish(
            self,
            environment,
            "cognito",
            {
                "user-pool-id": self.user_pool.user_pool_id,
                "user-pool-client-id": self.client.user_pool_client_id,
            },
        )

    @property
    def issuer(self) -> str:
        """The ``iss`` of the pool's tokens, as API Gateway's JWT authorizer expects it."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool.user_pool_id}"


def _auth_flows(flows: tuple[str, ...]) -> cognito.AuthFlow:
    # REFRESH_TOKEN_AUTH is always allowed by Cognito; the others map one to one.
    known = {"USER_PASSWORD_AUTH": "user_password", "USER_SRP_AUTH": "user_srp"}
    return cognito.AuthFlow(**{known[flow]: True for flow in flows if flow in known})
