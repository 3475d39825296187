"""Run inside the target interpreter: import one function's handler from its bundle, invoke it.

``python3.13 -I -S deploy_checks/bundle_runtime.py SPEC`` (the arm64 interpreter, under emulation):
nothing but the bundle and the standard library is importable, as in Lambda's task root. SPEC is
a JSON file naming the bundle, the handler, the event and where to write the result: the import
time, the handler's answer, the modules loaded from outside the bundle, or the error and where
it happened. Standard library only; it runs before anything of the bundle is importable.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import sysconfig
import time
import traceback
from pathlib import Path
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object that Powertools and the handlers read."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.function_name: str = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = spec["function_arn"]
        self.memory_limit_in_mb: int = spec["memory_mb"]
        self.aws_request_id = "verify-bundles-request"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "verify-bundles"
        self._deadline = time.monotonic() + spec["timeout_seconds"]

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Import the handler, invoke it once; what happened, as JSON-ready data."""
    bundle = Path(spec["bundle"])
    sys.path.insert(0, str(bundle))
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        module = importlib.import_module(spec["module"])
        handler = getattr(module, spec["attribute"])
    except BaseException:
        return {"stage": "import", "error": traceback.format_exc()}
    imported = time.perf_counter() - started
    # CPU time too: on a busy machine the wall clock mostly measures the wait for a core.
    imported_cpu = time.process_time() - cpu_started
    started = time.perf_counter()
    try:
        response = handler(spec["event"], LambdaContext(spec))
    except BaseException:
        return {"stage": "invoke", "error": traceback.format_exc(), "import_seconds": imported}
    return {
        "stage": "done",
        "import_seconds": imported,
        "import_cpu_seconds": imported_cpu,
        "invoke_seconds": time.perf_counter() - started,
        "response": response,
        "outside": loaded_from_elsewhere(bundle),
    }


def loaded_from_elsewhere(bundle: Path) -> list[str]:
    """Modules loaded from neither the bundle nor the interpreter's standard library."""
    # Prefixes of the paths on sys.path, as imports record them: a string test per module.
    allowed = (f"{bundle}{os.sep}", f"{sysconfig.get_paths()['stdlib']}{os.sep}")
    outside = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and name != "__main__" and not file.startswith(allowed):  # __main__: this script
            outside.append(f"{name} ({file})")
    return sorted(outside)


def main(argv: list[str]) -> int:
    """Run the spec named by ``argv[1]``; 0 when the handler answered."""
    spec = json.loads(Path(argv[1]).read_text())
    result = run(spec)
    Path(spec["result"]).write_text(json.dumps(result, default=repr))
    return 0 if result["stage"] == "done" else 1


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Tearing down a thousand modules takes seconds under emulation and tells nothing.
    os._exit(status)
