"""Demo data the local system loads after provisioning: the product catalog."""

from __future__ import annotations

from aiobotocore.session import get_session

from libs.stack_outputs import StackOutputs
from services.products.seed import seed_catalog


async def seed_demo_data(outputs: StackOutputs) -> None:
    """Load the demo catalog into the stack's table."""
    async with get_session().create_client(
        "dynamodb", endpoint_url=outputs.aws_endpoint_url, region_name=outputs.region
    ) as db:
        await seed_catalog(db, outputs.table_name)
