"""Field types more than one service's Structs use, declared once (their patterns and bounds)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from libs import json_patterns

# An id outside the catalog's own pattern can name no product.
ProductId = Annotated[str, msgspec.Meta(pattern=json_patterns.PRODUCT_ID)]
# Money is integer minor units (cents) with an ISO 4217 code: no float rounding, ever.
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Currency = Annotated[str, msgspec.Meta(pattern=json_patterns.CURRENCY)]
