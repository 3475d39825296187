"""The Lambda functions: one per service, with the entrypoint each runs."""

from __future__ import annotations

import msgspec


class FunctionDeclaration(msgspec.Struct, frozen=True):
    """A service's function: its entrypoint and sizing defaults (environments may override)."""

    service: str
    handler: str  # "package.module.attribute", the same string Lambda's runtime resolves
    memory_mb: int = 1024
    timeout_seconds: int = 10

    @property
    def module(self) -> str:
        """The module holding the entrypoint."""
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        """The entrypoint's name inside its module."""
        return self.handler.rpartition(".")[2]


FUNCTIONS: dict[str, FunctionDeclaration] = {
    declaration.service: declaration
    for declaration in (
        FunctionDeclaration(service="products", handler="services.products.handler.handler"),
        FunctionDeclaration(service="orders", handler="services.orders.handler.handler"),
    )
}
