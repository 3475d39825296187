"""Random DynamoDB attribute values (their JSON), for tests comparing two ways of handling them."""

from __future__ import annotations

import base64
import random
from typing import Any


def random_value(chance: random.Random, depth: int = 0, *, unknown: bool = False) -> dict[str, Any]:
    """An AttributeValue of any form, nested a little, binary ones included; with ``unknown``,
    sometimes a member no SDK knows yet (``X``)."""
    kinds = ["S", "N", "BOOL", "NULL", "SS", "NS", "B", "BS"] + (["X"] if unknown else [])
    kinds += ["M", "L"] * 2 if depth < 3 else []
    kind = chance.choice(kinds)
    if kind == "S":
        return {"S": chance.choice(["", "plain", "ünïcode ✓", 'quote " and \\', "0"])}
    if kind == "N":
        return {"N": chance.choice(["0", "-12", "3.25", "1E+3"])}
    if kind == "BOOL":
        return {"BOOL": chance.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind in ("SS", "NS"):
        return {kind: [str(n) for n in chance.sample(range(100), chance.randint(1, 3))]}
    if kind == "B":
        return {"B": base64.b64encode(chance.randbytes(3)).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(chance.randbytes(2)).decode()]}
    if kind == "X":
        return {"X": "?"}
    if kind == "M":
        members = {
            f"k{n}": random_value(chance, depth + 1, unknown=unknown)
            for n in range(chance.randint(0, 3))
        }
        return {"M": members}
    return {
        "L": [random_value(chance, depth + 1, unknown=unknown) for _ in range(chance.randint(0, 3))]
    }
