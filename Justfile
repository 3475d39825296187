# serverless-blueprint: every task a developer or CI runs.

set shell := ["bash", "-euo", "pipefail", "-c"]

export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := "1"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := "1"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := "20"

# List the recipes.
default:
    @just --list

# Run the whole system locally: emulator, resources, seed data and the HTTP API on :3000
# (`just dev --port 3001`; `--in-process` keeps moto in the gateway's process, for a debugger;
# `--tls` has the functions reach the emulator over HTTPS with a local CA, as they reach AWS).
dev *args:
    uv run python -m emulator {{args}}

# Fill the running `just dev` with a shop's data in bulk, as the services write it:
# `just seed --orders 100000 --users 5000 --products 2000` (or `--data large`); see docs/local-data.md.
seed *args:
    uv run python -m emulator.bulk_seed {{args}}

# Lint, type-check, then every test (unit, integration, end-to-end).
test: lint
    uv run pytest

# Formatting, lint rules and strict types (every package, bench and loadtests with their
# dependency groups); changes nothing.
lint:
    uv run ruff format --check .
    uv run ruff check .
    uv run --group bench --group load mypy

# Format the code and apply safe lint fixes.
fmt:
    uv run ruff format .
    uv run ruff check --fix .

# Dead-letter queues: `just dlq` lists depths; `just dlq show [QUEUE]`; `just dlq redrive [QUEUE]`;
# the outbox relay's failed batches: `just dlq relay-failures`; `just dlq replay-relay [--dry-run]`
# (add --aws [--env ENV] to use AWS instead of the running `just dev`).
dlq *args:
    uv run python -m ops.dlq {{args}}

# Synthesize an environment into cdk.out (no Docker, no AWS account); prints each bundle's size.
synth env="dev":
    uv run python -m stacks synth --context env={{env}}

# Deploy an environment with your AWS credentials; outputs go to .local/outputs-<env>.json.
deploy env="dev":
    npx --yes aws-cdk@2 deploy --all --context env={{env}} --require-approval broadening --outputs-file cdk.out/outputs-{{env}}.json
    uv run python -m stacks outputs cdk.out/outputs-{{env}}.json .local/outputs-{{env}}.json

# Once per account and region: the CDK's bootstrap stack (asset bucket and deploy roles).
bootstrap env="dev":
    npx --yes aws-cdk@2 bootstrap --context env={{env}}

# The smoke subset of the suite against a deployed stage (its outputs file from `just deploy`).
smoke env="dev":
    EMULATOR=aws STACK_OUTPUTS=.local/outputs-{{env}}.json uv run pytest -m smoke

# Remove a deployed stage (prod keeps its table and keys: they are RETAINed).
destroy env="dev":
    npx --yes aws-cdk@2 destroy --all --context env={{env}}

# The delivery pipeline: dev, smoke tests, approval, prod; from then on every push deploys.
deploy-pipeline repository connection_arn branch="main":
    npx --yes aws-cdk@2 deploy --all --context env=pipeline --context github_repository={{repository}} --context github_connection_arn={{connection_arn}} --context github_branch={{branch}}

# What deploying an environment would change (needs AWS credentials).
diff env="dev":
    npx --yes aws-cdk@2 diff --all --context env={{env}}

# Cold init, warm latency and bundle size: ours vs a conventional baseline vs the raw SDK floor,
# over TLS and over plain HTTP (`--transport tls|http|both`), what sealing personal fields
# costs, and each request's AWS cost (`just bench --quick` for a smoke run; `--only cost`).
# Writes bench/results/latest.{json,md,png}.
[positional-arguments]
bench *args:
    uv run --group bench python -m bench "$@"

# Locust against the local system (or `--outputs FILE` of a deployed stage), gated by the SLOs.
# `just load --users 40 --duration 2m` (`--tls`: the functions reach the emulator over HTTPS);
# `--data large` runs it on an empty, then a seeded table and compares them; reports go to
# loadtests/results/.
load *args:
    uv run --group load python -m loadtests {{args}}

# Every function's bundle imported and invoked once on CPython 3.13 for arm64 (emulated) against
# a local emulator; reports import times (`just verify-bundles --only orders --env dev`).
verify-bundles *args:
    uv run python -m deploy_checks.verify_bundles {{args}}
