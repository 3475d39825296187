"""Which addresses test accounts get, and when a deployed stage may email them."""

from __future__ import annotations

import re

import pytest

from tests.accounts import (
    TEST_EMAIL_DOMAIN,
    TEST_EMAIL_PATTERN,
    AccountEmails,
    account_email,
    made_users_pattern,
    mailbox_pattern,
)


def test_an_account_address_is_new_each_time_and_at_the_test_domain() -> None:
    # When two addresses are made with the same label
    first, second = account_email("auth"), account_email("auth")
    # Then they differ, name the label and are at the reserved domain
    assert first != second
    for address in (first, second):
        assert re.fullmatch(rf"auth-[0-9a-f]{{10}}@{re.escape(TEST_EMAIL_DOMAIN)}", address)


def test_an_account_address_follows_the_pattern_it_is_given() -> None:
    address = account_email("journey", "me+{id}@mydomain.com")
    assert re.fullmatch(r"me\+journey-[0-9a-f]{10}@mydomain\.com", address)


@pytest.mark.parametrize("kind", ["moto", "endpoint", "localstack"])
@pytest.mark.parametrize("configured", [None, "me+{id}@mydomain.com"])
def test_emulators_send_no_email_so_their_accounts_stay_at_the_test_domain(
    kind: str, configured: str | None
) -> None:
    assert mailbox_pattern(kind, configured) == TEST_EMAIL_PATTERN


def test_a_deployed_stage_without_a_mailbox_skips_and_says_how_to_give_one() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        mailbox_pattern("aws", None)
    assert "E2E_EMAIL" in str(skipped.value)
    assert "me+{id}@mydomain.com" in str(skipped.value)


def test_a_deployed_stage_emails_the_mailbox_given() -> None:
    assert mailbox_pattern("aws", "me+{id}@mydomain.com") == "me+{id}@mydomain.com"


@pytest.mark.parametrize(
    "configured", ["me@mydomain.com", "me+{id}{id}@mydomain.com", "me@{id}.mydomain.com"]
)
def test_a_mailbox_pattern_without_one_id_before_the_at_is_refused(configured: str) -> None:
    with pytest.raises(pytest.UsageError, match="E2E_EMAIL must be an email address"):
        mailbox_pattern("aws", configured)


def test_every_address_handed_out_is_remembered_for_deletion() -> None:
    # Given the addresses of one test's registrations
    emails = AccountEmails("me+{id}@mydomain.com")
    handed_out = [emails.new("auth"), emails.new("weak")]
    # Then each one will be deleted, and each one reaches the given mailbox
    assert emails.issued == handed_out
    assert all(address.startswith("me+") for address in handed_out)


def test_a_mailbox_pattern_is_used_in_lower_case_as_the_auth_api_stores_emails() -> None:
    assert mailbox_pattern("aws", "Me+{id}@MyDomain.com") == "me+{id}@mydomain.com"


@pytest.mark.parametrize("kind", ["moto", "endpoint", "localstack"])
def test_users_made_on_an_emulator_are_at_the_test_domain(kind: str) -> None:
    assert made_users_pattern(kind) == TEST_EMAIL_PATTERN


def test_users_made_on_a_deployed_stage_get_ses_mailbox_simulator_addresses() -> None:
    # When a user is made on a deployed stage (its notifications are emailed through SES)
    address = account_email("user", made_users_pattern("aws"))
    # Then SES's simulator takes the mail: accepted, never bounced, delivered to nobody
    assert re.fullmatch(r"success\+user-[0-9a-f]{10}@simulator\.amazonses\.com", address)
