"""moto's internals under the emulator's patches: pinned, declared, and unchanged since written."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from emulator.moto_internals import INTERNALS, MOTO_REQUIREMENT, MotoInternal, changes

PROJECT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: imports what the patches touch, notes every function, method and
# class of those libraries, applies every patch, then prints what now differs.
REPLACED_BY_PATCHING = """
import importlib, json, sys, types
from emulator.moto_internals import INTERNALS

for internal in INTERNALS:
    for where in (internal.target, internal.defined_at or internal.target):
        importlib.import_module(where.partition(":")[0])

LIBRARIES = ("moto", "werkzeug", "jsonpath_ng")
CODE = (types.FunctionType, types.BuiltinFunctionType, staticmethod, classmethod, property,
        type, types.ModuleType)

def namespaces():
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(LIBRARIES):
            continue
        yield f"{name}:", vars(module)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                yield f"{name}:{value.__qualname__}.", vars(value)

def code(namespace):
    return {key: value for key, value in namespace.items()
            if isinstance(value, CODE) or callable(value)}

before = {prefix: dict(code(namespace)) for prefix, namespace in namespaces()}
from emulator.moto_server import patch_moto
patch_moto()
replaced = set()
for prefix, namespace in namespaces():
    if prefix not in before:
        continue  # first imported by a patch: nothing to compare with
    for key, value in code(namespace).items():
        if before[prefix].get(key) is not value:
            replaced.add(prefix + key)
print(json.dumps(sorted(replaced)))
"""


def test_moto_is_held_to_the_releases_the_patches_were_written_for() -> None:
    # Given the project's declared dependencies
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    requirements = [
        Requirement(r) for group in project["dependency-groups"].values() for r in group
    ]
    (moto,) = [r for r in requirements if r.name == "moto"]
    # Then moto's range is the one the patches were written for, and the installed moto is in it
    assert str(moto.specifier) == str(Requirement(f"moto{MOTO_REQUIREMENT}").specifier)
    assert moto.specifier.contains(importlib.metadata.version("moto"))


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda internal: internal.target)
def test_each_patched_internal_is_as_its_patch_was_written_against(
    internal: MotoInternal,
) -> None:
    assert internal.change() is None, internal.change()


def test_every_internal_the_patches_replace_is_declared() -> None:
    # Given a fresh interpreter with moto (and what its server runs on) as installed
    # When every patch is applied
    completed = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", REPLACED_BY_PATCHING],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    replaced = set(json.loads(completed.stdout))
    # Then what changed is exactly what emulator/moto_internals.py declares as replaced
    declared = {internal.target for internal in INTERNALS if internal.replaced}
    assert replaced - declared == set(), "patched but not declared in emulator/moto_internals.py"
    assert declared - replaced == set(), "declared as replaced, but no patch replaces it"


def test_a_changed_internal_names_its_patch_and_what_to_check() -> None:
    # Given the declaration of an internal whose source differs from the one written against
    internal = next(i for i in INTERNALS if i.target.endswith("Table.query"))
    changed = replace(internal, fingerprint="0" * 16)
    # When the internals are checked
    (message,) = changes((changed,))
    # Then the message names the internal, the patch, what it relied on, and where to record it
    assert internal.target in message
    assert "emulator.moto_queries replaces" in message
    assert internal.relies_on in message
    assert "emulator/moto_internals.py" in message


def test_an_internal_that_is_gone_says_so() -> None:
    # Given the declaration of a method the installed moto does not have
    gone = replace(INTERNALS[0], target="moto.dynamodb.models.table:Table.query_everything")
    # When it is checked, Then the message says it is gone and what the patch relied on
    message = gone.change()
    assert message is not None
    assert "no longer has" in message
    assert gone.relies_on in message
