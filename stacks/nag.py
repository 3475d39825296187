"""cdk-nag: the AwsSolutions checks every stack passes, and the one way to record an exception.

Each exception names the rule, the construct it applies to and why the finding does not apply;
tests fail on any finding without one.
"""

from __future__ import annotations

from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct

# X-Ray has no resource-level permissions: PutTraceSegments/PutTelemetryRecords need "*".
XRAY_REASON = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions "
    "(AWS service authorization reference): active tracing needs Resource '*'."
)


def accept(
    construct: IConstruct, rule: str, reason: str, applies_to: list[str] | None = None
) -> None:
    """Record that ``rule`` is knowingly not met by ``construct`` (and its children)."""
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=f"AwsSolutions-{rule}", reason=reason, applies_to=applies_to)],
        apply_to_children=True,
    )
