"""The API documentation on the local gateway: the document, and Swagger UI driven in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.async_api import BrowserContext, Page, Route, async_playwright, expect

from api_document.openapi import openapi_document
from tests.accounts import SignedInUser

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.emulator("the local gateway serves the documentation; API Gateway does not"),
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = not CHROMIUM.exists()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 20_000


def test_the_document_is_served_without_a_token_with_this_gateway_as_its_server(
    api_url: str,
) -> None:
    # When a client without a token fetches the document
    response = requests.get(f"{api_url}/openapi.json", timeout=10)
    # Then it is the OpenAPI 3.1 document of the code, pointing at this gateway
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    assert served["openapi"] == "3.1.0"
    assert served["servers"] == [{"url": api_url, "description": "This local gateway"}]
    assert served["paths"] == openapi_document()["paths"]


def test_swagger_ui_loads_only_files_of_this_gateway(api_url: str) -> None:
    # When a client without a token opens /docs
    page = requests.get(f"{api_url}/docs", timeout=10)
    # Then the page, and everything it references, comes from the gateway itself
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(references) >= 4
    for reference in references:
        assert not urlsplit(reference).netloc, f"{reference} is not on this gateway"
        assert requests.get(f"{api_url}{reference}", timeout=10).status_code == 200, reference


def test_the_swagger_ui_view_is_openapi_30_of_the_same_operations(api_url: str) -> None:
    view = requests.get(f"{api_url}/docs/openapi-3.0.json", timeout=10).json()
    assert view["openapi"] == "3.0.3"
    assert view["paths"].keys() == openapi_document()["paths"].keys()
    assert '"const"' not in requests.get(f"{api_url}/docs/openapi-3.0.json", timeout=10).text


def test_a_file_of_the_bundle_that_the_page_does_not_use_is_not_served(api_url: str) -> None:
    response = requests.get(f"{api_url}/docs/index.j2", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_the_documentation_paths_answer_only_get(api_url: str) -> None:
    # A POST falls through to the API's routing, where no route declares the path.
    response = requests.post(f"{api_url}/openapi.json", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


# -- in the browser ---------------------------------------------------------------------------


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Headless Chromium with a fresh profile."""
    if CHROMIUM_MISSING:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run this test")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context
        finally:
            await context.close()


async def _execute(page: Page, operation_id: str, tag: str) -> str:
    """Open an operation, "Try it out", "Execute"; the status shown and the curl it ran."""
    operation = page.locator(f"#operations-{tag}-{operation_id}")
    await operation.locator(".opblock-summary").click()
    await operation.locator("button.try-out__btn").click()
    await operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    await expect(status).to_have_text(re.compile(r"^\d{3}"), timeout=UI_TIMEOUT_MS)
    return (await status.inner_text()).strip()


async def test_swagger_ui_authorizes_with_a_cognito_token_and_runs_requests(
    api_url: str, browser: BrowserContext, alice: SignedInUser
) -> None:
    # Given Swagger UI in Chromium, with every request off this gateway refused and recorded
    origin = urlsplit(api_url).netloc
    elsewhere: list[str] = []

    async def only_this_gateway(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    page = await browser.new_page()
    await page.route("**/*", only_this_gateway)
    await page.goto(f"{api_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "serverless-blueprint API", timeout=UI_TIMEOUT_MS
    )

    # When the user authorizes with a real access token of the emulator's Cognito
    await page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    await dialog.locator("input").fill(alice.access_token)
    await dialog.locator(".auth-btn-wrapper button.authorize").click()
    await dialog.locator(".auth-btn-wrapper button.btn-done").click()

    # Then GET /products runs from "Try it out" and answers 200
    assert await _execute(page, "listProducts", "products") == "200"
    # And a protected operation goes through the gateway's JWT check with that token
    assert await _execute(page, "getProfile", "users") == "200"
    profile = page.locator("#operations-users-getProfile .live-responses-table")
    await expect(profile).to_contain_text(alice.email)
    # And the page never reached beyond the gateway
    assert elsewhere == []
