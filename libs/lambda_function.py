"""What every function of the project is built on: Powertools' logger, EMF metrics and tracer,
one set of AWS clients and one event loop per container, and Lambda's entrypoint around them.

Each kind (HTTP, queue, stream) subclasses it and supplies only ``handle``: what one invocation
does with its event, as a coroutine on the container's loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from libs.aws_clients import AwsClients
from libs.container_loop import ContainerLoop
from libs.init_phase import end_init
from libs.resources.metrics import metrics_namespace
from libs.tracing import function_tracer

Entrypoint = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class LambdaFunction:
    """A service's function: ``handler`` is Lambda's entrypoint, ``handle`` the kind's work."""

    def __init__(self, service: str, *, clients: AwsClients | None = None) -> None:
        self.service = service
        self.logger = Logger(service=service)
        self.metrics = Metrics(namespace=metrics_namespace(service), service=service)
        self.tracer = function_tracer(service)  # None where X-Ray does not trace
        self.clients = clients or AwsClients()
        self._loop = ContainerLoop()
        traced: Entrypoint = self._invoke
        if self.tracer is not None:
            # Answers and batches carry tokens and personal data: keep them out of traces.
            traced = self.tracer.capture_lambda_handler(self._invoke, capture_response=False)
        self.handler: Entrypoint = self.metrics.log_metrics(capture_cold_start_metric=True)(
            self.logger.inject_lambda_context(clear_state=True)(traced)
        )

    async def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """One invocation's work; each kind of function supplies it."""
        raise NotImplementedError

    def run[T](self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the container's event loop (created once, then reused)."""
        return self._loop.run(work)

    def _invoke(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        end_init()  # the first invocation ends init (a no-op afterwards)
        return self.run(self.handle(event, context))
