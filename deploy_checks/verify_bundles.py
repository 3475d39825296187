"""``just verify-bundles``: every function's bundle, as synthesized, run once on Lambda's platform.

Synthesizes an environment (prod by default: it bundles every function, the origin-secret
rotation one too), checks that each bundle's native code is for CPython 3.13 on arm64, then, for
every function, imports its handler from its own asset directory on CPython 3.13 for arm64
(``arm64_python``, emulated) and invokes it once with a representative event against a local
emulator this command starts: payload 2.0 for HTTP functions (with a real user's JWT claims
where the route needs them), an SQS batch for the queue consumer, a DynamoDB Streams batch for
the outbox relay, a rotation step for the rotation function. It checks each answer, reports each
function's import time under emulation, and exits 1 naming every function that failed and why.

    python -m deploy_checks.verify_bundles [--env prod] [--jobs 2] [--only orders] [--assembly DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets as secrets_module
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import jwt
import msgspec
from aiobotocore.session import get_session

from deploy_checks.arm64_python import Arm64Python, Arm64PythonUnavailable
from deploy_checks.bundle_platform import platform_problems
from emulator.backends import start_backend
from emulator.jwt_authorizer import gateway_claims
from emulator.provision import function_environment, provision, queue_addresses
from emulator.seed import seed_demo_data
from libs.domain_events import OrderCreated, OrderLine, UserRegistered
from libs.outbox import outbox_item
from libs.resources.api_routes import ROUTES, Route
from libs.resources.environments import ENVIRONMENTS, PROJECT
from libs.resources.events import NOTIFICATIONS_QUEUE
from libs.resources.functions import FUNCTIONS, ORIGIN_SECRET_ROTATION, FunctionDeclaration
from libs.resources.naming import named_queue
from libs.stack_outputs import StackOutputs
from services.origin_secret_rotation.rotation import PENDING
from stacks.bundling import PROJECT_ROOT

RUNTIME_SCRIPT: Final = Path(__file__).with_name("bundle_runtime.py")
DEFAULT_OUTPUT: Final = PROJECT_ROOT / ".local" / "verify-bundles"
ACCOUNT: Final = "123456789012"
# An emulated import takes tens of seconds; a hung one fails the command rather than CI.
RUN_TIMEOUT_SECONDS: Final = 600
# Emulated arm64 runs Python far slower than Lambda does (an invocation takes seconds): each
# function's deadline (its context's remaining time, which bounds HTTP requests) is stretched, so
# that a working bundle is not cut off for the emulator's slowness.
EMULATION_SLOWDOWN: Final = 30
TRACE_HEADER: Final = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
DECLARATIONS: Final = {d.handler: d for d in (*FUNCTIONS.values(), ORIGIN_SECRET_ROTATION)}


# -- what each HTTP function is asked --------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A representative request to an HTTP function, and the status a working bundle answers."""

    method: str
    path: str
    status: int
    query: str = ""
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


# One request per HTTP function, each reaching AWS through the function's own clients (the
# table, Cognito, the feature flags); the route, its function and its auth come from ROUTES.
REQUESTS: Final = {
    "products": Request("GET", "/products", 200, query="category=books"),
    "orders": Request(
        "POST",
        "/orders",
        201,
        body={"items": [{"productId": "usb-c-hub", "quantity": 1}]},
        headers={"idempotency-key": "verify-bundles"},
    ),
    "auth": Request("POST", "/auth/login", 200, body={"email": "", "password": ""}),
    "users": Request("GET", "/users/me", 200),
    "notifications": Request("GET", "/notifications", 200),
}


def route_of(function: str, request: Request) -> Route:
    """The declared route that serves ``request`` (its function must be ``function``)."""
    for route in ROUTES:
        if route.method == request.method and route.match(request.path) is not None:
            if route.function != function:
                raise LookupError(f"{request.method} {request.path} is {route.function}'s route")
            return route
    raise LookupError(f"no route declared for {request.method} {request.path}")


# -- the emulator's state the events refer to ------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """What the emulator holds for the invocations: a user, a queued message, a secret."""

    outputs: StackOutputs
    email: str
    password: str
    claims: dict[str, Any]  # the authorizer's ``jwt`` of payload 2.0, for the user above
    queued: dict[str, Any]  # a message the bus delivered to the notifications queue
    stream_arn: str
    secret_arn: str
    rotation_token: str


async def prepare(outputs: StackOutputs, region: str) -> Scene:
    """Seed the catalog, register a user, queue an event for the consumer, make a secret."""
    await seed_demo_data(outputs)
    options: dict[str, Any] = {"endpoint_url": outputs.aws_endpoint_url, "region_name": region}
    session = get_session()
    email, password = f"verify-{uuid.uuid4().hex[:8]}@example.com", "Verify-Bundles-7"
    async with (
        session.create_client("cognito-idp", **options) as cognito,
        session.create_client("events", **options) as events,
        session.create_client("sqs", **options) as sqs,
        session.create_client("dynamodb", **options) as dynamodb,
        session.create_client("sesv2", **options) as ses,
        session.create_client("secretsmanager", **options) as secrets,
    ):
        pool = outputs.user_pool_id
        await cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        await cognito.admin_set_user_password(
            UserPoolId=pool, Username=email, Password=password, Permanent=True
        )
        tokens = (
            await cognito.initiate_auth(
                ClientId=outputs.user_pool_client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        )["AuthenticationResult"]
        claims = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
        user_id: str = claims["sub"]
        # The consumer emails as each environment's sender: a verified identity, as in AWS.
        for sender in sorted({e.notification_sender for e in ENVIRONMENTS.values()}):
            await ses.create_email_identity(EmailIdentity=sender)
        # An order event, through the bus's rule to the consumer's queue, as AWS delivers it.
        order = OrderCreated(
            order_id="verify-bundles-order",
            user_id=user_id,
            total=2999,
            currency="EUR",
            items=(OrderLine(product_id="usb-c-hub", quantity=1, unit_price=2999),),
        )
        await events.put_events(
            Entries=[
                {
                    "EventBusName": outputs.event_bus_name,
                    "Source": order.SOURCE,
                    "DetailType": order.DETAIL_TYPE,
                    "Detail": msgspec.json.encode(order).decode(),
                }
            ]
        )
        queue = named_queue(NOTIFICATIONS_QUEUE, outputs.name_suffix)
        address = (await queue_addresses(sqs, (queue,)))[queue.logical_id]
        received = await sqs.receive_message(
            QueueUrl=address.url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=5
        )
        (message,) = received["Messages"]
        await sqs.delete_message(QueueUrl=address.url, ReceiptHandle=message["ReceiptHandle"])
        queued = {**message, "eventSourceARN": address.arn}
        table = await dynamodb.describe_table(TableName=outputs.table_name)
        secret = await secrets.create_secret(
            Name=f"{PROJECT}-origin-verify", SecretString=secrets_module.token_urlsafe(30)
        )
    return Scene(
        outputs=outputs,
        email=email,
        password=password,
        claims=gateway_claims(claims),
        queued=queued,
        stream_arn=table["Table"]["LatestStreamArn"],
        secret_arn=secret["ARN"],
        rotation_token=str(uuid.uuid4()),
    )


async def pending_version_exists(scene: Scene, region: str) -> bool:
    """Whether the rotation's first step stored the new value as the pending version."""
    options: dict[str, Any] = {
        "endpoint_url": scene.outputs.aws_endpoint_url,
        "region_name": region,
    }
    async with get_session().create_client("secretsmanager", **options) as secrets:
        found = await secrets.describe_secret(SecretId=scene.secret_arn)
    stages: list[str] = found.get("VersionIdsToStages", {}).get(scene.rotation_token, [])
    return PENDING in stages


# -- the events ------------------------------------------------------------------------------


def http_event(route: Route, request: Request, scene: Scene) -> dict[str, Any]:
    """Payload format 2.0 as API Gateway sends it for ``request`` on ``route``."""
    now = time.time()
    headers = {
        "accept": "application/json",
        "host": "api.example.com",
        "user-agent": "verify-bundles",
        **request.headers,
    }
    body = request.body
    if body is not None and body.keys() == {"email", "password"}:
        body = {"email": scene.email, "password": scene.password}
    if body is not None:
        headers["content-type"] = "application/json"
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "verify",
        "domainName": headers["host"],
        "domainPrefix": "api",
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": headers["user-agent"],
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if route.auth == "jwt":
        context["authorizer"] = {"jwt": scene.claims}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
    }
    if request.query:
        pairs = (pair.partition("=") for pair in request.query.split("&"))
        event["queryStringParameters"] = {key: value for key, _, value in pairs}
    parameters = route.match(request.path)
    if parameters:
        event["pathParameters"] = parameters
    event["requestContext"] = context
    if body is not None:
        event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    return event


def sqs_event(scene: Scene) -> dict[str, Any]:
    """The consumer's batch: the message the bus delivered, as Lambda's mapping hands it over."""
    message = scene.queued
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": message["eventSourceARN"],
        "awsRegion": scene.outputs.region,
    }
    return {"Records": [record]}


def stream_event(scene: Scene) -> dict[str, Any]:
    """The relay's batch: an outbox item's INSERT, as the table's stream mapping delivers it."""
    registered = UserRegistered(user_id="verify-bundles-user", email=scene.email, name="Verify")
    image = outbox_item(registered)
    record = {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": scene.outputs.region,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"PK": image["PK"], "SK": image["SK"]},
            "NewImage": image,
            "SequenceNumber": "100000000000000000001",
            "SizeBytes": len(json.dumps(image)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": scene.stream_arn,
    }
    return {"Records": [record]}


Check = Callable[[Any], str | None]


def expect_status(status: int) -> Check:
    """An HTTP answer with ``status``."""

    def check(response: Any) -> str | None:
        if isinstance(response, dict) and response.get("statusCode") == status:
            return None
        summary = json.dumps(response)[:400]
        return f"answered {summary}, expected status {status}"

    return check


def expect_no_batch_failures(response: Any) -> str | None:
    """A batch answer that reports no failed item."""
    if response == {"batchItemFailures": []}:
        return None
    return f"answered {json.dumps(response)[:400]}, expected no batchItemFailures"


def expect_nothing(response: Any) -> str | None:
    """A rotation step returns nothing; Secrets Manager reads only success or failure."""
    return None if response is None else f"answered {json.dumps(response)[:400]}"


def invocation(declaration: FunctionDeclaration, scene: Scene) -> tuple[dict[str, Any], Check]:
    """The representative event for a function, and how its answer is checked."""
    if declaration.trigger == "http":
        request = REQUESTS.get(declaration.service)
        if request is None:
            raise LookupError(f"no representative request declared for {declaration.service}")
        route = route_of(declaration.service, request)
        return http_event(route, request, scene), expect_status(request.status)
    if declaration.trigger == "sqs":
        return sqs_event(scene), expect_no_batch_failures
    if declaration.trigger == "stream":
        return stream_event(scene), expect_no_batch_failures
    step = {
        "SecretId": scene.secret_arn,
        "ClientRequestToken": scene.rotation_token,
        "Step": "createSecret",
    }
    return step, expect_nothing


# -- the bundles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BundledFunction:
    """A function of the synthesized app: its declaration, asset and literal environment."""

    declaration: FunctionDeclaration
    asset: Path
    variables: dict[str, str]  # what the template sets as plain strings (references aside)

    @property
    def name(self) -> str:
        """The function's service name."""
        return self.declaration.service


def bundled_functions(assembly: Path) -> list[BundledFunction]:
    """Every declared function of a cloud assembly, in declaration order."""
    found: dict[str, BundledFunction] = {}
    for template in sorted(assembly.glob("*.template.json")):
        for resource in json.loads(template.read_text()).get("Resources", {}).values():
            properties = resource.get("Properties", {})
            declaration = DECLARATIONS.get(properties.get("Handler"))
            key = properties.get("Code", {}).get("S3Key")
            if resource["Type"] != "AWS::Lambda::Function" or declaration is None:
                continue
            if not isinstance(key, str):
                raise ValueError(f"{declaration.service}: its code is not a bundled asset")
            variables = properties.get("Environment", {}).get("Variables", {})
            found[declaration.service] = BundledFunction(
                declaration,
                assembly / f"asset.{key.removesuffix('.zip')}",
                {name: value for name, value in variables.items() if isinstance(value, str)},
            )
    missing = [name for name in FUNCTIONS if name not in found]
    if missing:
        raise LookupError(f"{assembly} bundles no function for {', '.join(missing)}")
    order = [*FUNCTIONS, ORIGIN_SECRET_ROTATION.service]
    return sorted(found.values(), key=lambda f: order.index(f.name))


def synthesize(environment: str, output: Path) -> Path:
    """Synthesize ``environment`` into ``output``; the cloud assembly's directory."""
    from stacks.app import build_app  # the CDK app loads in seconds: only when synthesizing

    started = time.perf_counter()
    assembly = Path(build_app({"env": environment}, str(output)).synth().directory)
    print(f"synthesized {environment} into {output} in {time.perf_counter() - started:.1f} s")
    return assembly


# -- running them ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one function's bundle did."""

    name: str
    error: str | None = None
    import_seconds: float | None = None
    import_cpu_seconds: float | None = None
    invoke_seconds: float | None = None
    wall_seconds: float = 0.0
    answer: str = ""


def lambda_variables(function: BundledFunction, scene: Scene, region: str) -> dict[str, str]:
    """The function's environment as Lambda sets it, pointed at the emulator, traced."""
    declaration = function.declaration
    variables = {
        **function.variables,
        **function_environment(scene.outputs),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(function.asset),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"{PROJECT}-{declaration.service}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(declaration.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        # Traced as in AWS (X-Ray loads and patches); segments go to a port nobody reads.
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    variables.pop("POWERTOOLS_TRACE_DISABLED", None)
    return variables


def run_function(
    python: Arm64Python, function: BundledFunction, scene: Scene, region: str, work: Path
) -> Outcome:
    """Import and invoke one function's handler on the emulated interpreter."""
    outcome = Outcome(function.name)
    declaration = function.declaration
    try:
        event, check = invocation(declaration, scene)
    except LookupError as error:
        outcome.error = str(error)
        return outcome
    result_path = work / f"{function.name}.result.json"
    result_path.unlink(missing_ok=True)
    spec = {
        "bundle": str(function.asset.resolve()),
        "module": declaration.module,
        "attribute": declaration.attribute,
        "event": event,
        "function_name": f"{PROJECT}-{declaration.service}",
        "function_arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{PROJECT}-{function.name}",
        "memory_mb": declaration.memory_mb,
        "timeout_seconds": declaration.timeout_seconds * EMULATION_SLOWDOWN,
        "result": str(result_path),
    }
    spec_path = work / f"{function.name}.spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    try:
        ran = subprocess.run(  # noqa: S603 - the emulated interpreter and our script
            python.command("-I", "-S", str(RUNTIME_SCRIPT), str(spec_path)),
            env=python.environment(lambda_variables(function, scene, region)),
            cwd=work,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        outcome.error = f"no answer within {RUN_TIMEOUT_SECONDS} s"
        return outcome
    outcome.wall_seconds = time.perf_counter() - started
    (work / f"{function.name}.log").write_text(ran.stdout + ran.stderr)
    if not result_path.is_file():
        outcome.error = f"the interpreter exited with {ran.returncode}: {ran.stderr[-1500:]}"
        return outcome
    result = json.loads(result_path.read_text())
    outcome.import_seconds = result.get("import_seconds")
    outcome.import_cpu_seconds = result.get("import_cpu_seconds")
    outcome.invoke_seconds = result.get("invoke_seconds")
    if result["stage"] != "done":
        outcome.error = f"fails at {result['stage']}:\n{result['error'].rstrip()}"
        return outcome
    outcome.answer = _short_answer(result["response"])
    outcome.error = check(result["response"])
    if outcome.error is None and result["outside"]:
        outcome.error = "loaded modules from outside its bundle: " + ", ".join(result["outside"])
    return outcome


def _short_answer(response: Any) -> str:
    if isinstance(response, dict) and "statusCode" in response:
        return f"status {response['statusCode']}"
    if isinstance(response, dict) and "batchItemFailures" in response:
        return f"batchItemFailures {response['batchItemFailures']}"
    return json.dumps(response)[:40]


def verify(
    functions: Sequence[BundledFunction], python: Arm64Python, jobs: int, work: Path
) -> list[Outcome]:
    """The platform check, then each function run once against a fresh local emulator."""
    outcomes: dict[str, Outcome] = {}
    runnable = []
    for function in functions:
        problems = platform_problems(function.asset)
        if problems:
            outcomes[function.name] = Outcome(
                function.name,
                error="carries native code Lambda cannot load:\n" + "\n".join(problems),
            )
        else:
            runnable.append(function)
    if runnable:
        python.ensure()
        backend = start_backend("moto", moto_in_process=True)
        try:
            outputs = asyncio.run(provision(backend.endpoint_url, backend.region))
            scene = asyncio.run(prepare(outputs, backend.region))
            work.mkdir(parents=True, exist_ok=True)
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                futures = [
                    pool.submit(run_function, python, f, scene, backend.region, work)
                    for f in runnable
                ]
                for future in as_completed(futures):
                    outcome = future.result()
                    outcomes[outcome.name] = outcome
                    print(
                        f"  {outcome.name}: {'failed' if outcome.error else outcome.answer}",
                        flush=True,
                    )
            rotation = outcomes.get(ORIGIN_SECRET_ROTATION.service)
            if (
                rotation is not None
                and rotation.error is None
                and not asyncio.run(pending_version_exists(scene, backend.region))
            ):
                rotation.error = "the createSecret step stored no pending version"
        finally:
            backend.stop()
    return [outcomes[f.name] for f in functions]


def report(outcomes: Sequence[Outcome]) -> str:
    """One line per function: import time (wall clock and CPU) and invocation time under
    emulation, the whole run's, and the answer."""

    def seconds(value: float | None) -> str:
        return f"{value:.1f} s" if value else "-"

    lines = [f"{'function':<24} {'import':>8} {'(cpu)':>8} {'invoke':>8} {'total':>8}  answer"]
    for outcome in outcomes:
        verdict = "FAILED" if outcome.error else outcome.answer
        lines.append(
            f"{outcome.name:<24} {seconds(outcome.import_seconds):>8} "
            f"{seconds(outcome.import_cpu_seconds):>8} {seconds(outcome.invoke_seconds):>8} "
            f"{seconds(outcome.wall_seconds):>8}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Synthesize (or read ``--assembly``), verify every bundle; 1 when any fails."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy_checks.verify_bundles", description=__doc__
    )
    parser.add_argument("--env", default="prod", help="the environment to synthesize")
    parser.add_argument("--assembly", type=Path, help="a cloud assembly to read instead")
    parser.add_argument("--only", action="append", default=[], metavar="FUNCTION")
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="functions run at once"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    python = Arm64Python()
    assembly = args.assembly or synthesize(args.env, args.output / args.env)
    functions = bundled_functions(assembly)
    if args.only:
        unknown = set(args.only) - {f.name for f in functions}
        if unknown:
            parser.error(f"no such bundled function: {', '.join(sorted(unknown))}")
        functions = [f for f in functions if f.name in args.only]
    print(
        f"running {len(functions)} bundles on arm64 python3.13 ({python.root}), {args.jobs} at once"
    )
    try:
        outcomes = verify(functions, python, args.jobs, args.output / "runs")
    except Arm64PythonUnavailable as error:
        print(f"verify-bundles: no arm64 python3.13 here: {error}", file=sys.stderr)
        return 2
    print(report(outcomes))
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        print(f"\n{outcome.name}: {outcome.error}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    if failed:
        names = ", ".join(o.name for o in failed)
        print(
            f"\nverify-bundles: {len(failed)} failed ({names}) in {elapsed:.0f} s", file=sys.stderr
        )
        return 1
    print(f"verify-bundles: {len(outcomes)} bundles passed in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
