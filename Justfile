# serverless-blueprint: every task a developer or CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := "1"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := "1"

# List the recipes.
default:
    @just --list

# Run the whole system locally: emulator, resources, seed data and the HTTP API on :3000.
dev:
    uv run python -m emulator

# Lint, type-check, then every test (unit, integration, end-to-end).
test: lint
    uv run pytest

# Formatting, lint rules and strict types; changes nothing.
lint:
    uv run ruff format --check .
    uv run ruff check .
    uv run mypy

# Format the code and apply safe lint fixes.
fmt:
    uv run ruff format .
    uv run ruff check --fix .
