"""CPU used by each component of the local system during a run, from the processes' own counters.

Components: the load generator (Locust), the gateway (the runner's process: HTTP API, JWT
check, outbox relay, queue polling, and moto too unless it runs apart), the handlers (the
function containers) and the emulator (moto's process). What the rest of the machine used is
reported as well: on a shared machine it is the first thing to read.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import psutil

LOAD_GENERATOR: Final = "load generator"
GATEWAY: Final = "gateway"
GATEWAY_AND_EMULATOR: Final = "gateway + emulator"
HANDLERS: Final = "handlers"
EMULATOR: Final = "emulator"
ELSEWHERE: Final = "other processes"
# One function's containers: "handler products"; all of them together are HANDLERS.
HANDLER_PREFIX: Final = "handler "


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds used so far, per process (with its component) and by the whole machine."""

    at: float
    by_process: Mapping[int, tuple[str, float]] = field(default_factory=dict)
    machine_busy: float = 0.0
    # Seconds in which some runnable task waited for a CPU (Linux PSI); None where unknown.
    cpu_waiting: float | None = None


def cores_used(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """Average cores each component kept busy between two samples (1.0 = one core all along).

    A process first seen in ``after`` counts from zero; one gone by then is not counted. Whatever
    the machine was busy with beyond these processes is ``other processes``.
    """
    seconds = after.at - before.at
    if seconds <= 0:
        return {}
    used: dict[str, float] = defaultdict(float)
    for pid, (component, cpu) in after.by_process.items():
        earlier = before.by_process.get(pid)
        start = earlier[1] if earlier is not None and earlier[0] == component else 0.0
        used[component] += max(0.0, cpu - start) / seconds
    machine = max(0.0, after.machine_busy - before.machine_busy) / seconds
    used[ELSEWHERE] = max(0.0, machine - sum(used.values()))
    return dict(used)


def cpu_pressure(before: CpuSample, after: CpuSample) -> float | None:
    """The share of the time between the samples in which some task waited for a CPU.

    Linux's pressure stall information: near 0 the CPUs keep up; well above 0 runnable work
    queues for a core (each hop of a request then waits too), whatever the utilisation says.
    """
    seconds = after.at - before.at
    if before.cpu_waiting is None or after.cpu_waiting is None or seconds <= 0:
        return None
    return max(0.0, min(1.0, (after.cpu_waiting - before.cpu_waiting) / seconds))


def by_component(cores: Mapping[str, float]) -> dict[str, float]:
    """``cores_used`` with every function's containers folded into HANDLERS."""
    folded: dict[str, float] = defaultdict(float)
    for name, used in cores.items():
        folded[HANDLERS if name.startswith(HANDLER_PREFIX) else name] += used
    return dict(folded)


def by_function(cores: Mapping[str, float]) -> dict[str, float]:
    """The cores each function's containers used, by function name."""
    return {
        name.removeprefix(HANDLER_PREFIX): used
        for name, used in cores.items()
        if name.startswith(HANDLER_PREFIX)
    }


class StackProcesses:
    """Finds the stack's processes and samples their CPU time.

    The runner (this process) serves the local HTTP API, so it is the gateway, and its other
    child processes are the handlers; ``emulator`` is moto's own process, when it has one. Against
    a deployed stage (``local=False``) only the load generator runs here.
    """

    def __init__(
        self,
        *,
        local: bool = True,
        emulator: int | None = None,
        load_generator: int | None = None,
        functions: Callable[[], Mapping[int, str]] = dict,
    ) -> None:
        """``functions``: the running containers, process id → function name."""
        self.gateway = os.getpid()
        self.local = local
        self.emulator = emulator
        self.load_generator = load_generator
        self._functions = functions

    def sample(self) -> CpuSample:
        """The CPU seconds of every process of the stack, now."""
        import psutil  # the load group's (Locust's) dependency: the pure functions need none

        by_process: dict[int, tuple[str, float]] = {}
        gateway_role = GATEWAY if self.emulator else GATEWAY_AND_EMULATOR
        functions = self._functions()
        try:
            root = psutil.Process(self.gateway)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            processes = []
        for process in processes:
            try:
                role = self._role(process, gateway_role, functions)
                if role is not None:
                    times = process.cpu_times()
                    by_process[process.pid] = (role, times.user + times.system)
            except psutil.Error:
                continue  # ended while we looked
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return CpuSample(
            at=time.monotonic(),
            by_process=by_process,
            machine_busy=busy,
            cpu_waiting=_cpu_waiting_seconds(),
        )

    def emulator_cpu_seconds(self) -> float | None:
        """CPU seconds moto's own process has used (None when it has none)."""
        import psutil

        if self.emulator is None:
            return None
        try:
            times = psutil.Process(self.emulator).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def describe(self) -> dict[str, object]:
        """Process ids by component, and each function's containers by function."""
        functions: dict[str, list[int]] = defaultdict(list)
        for pid, name in self._functions().items():
            functions[name].append(pid)
        return {
            "gateway": self.gateway if self.local else None,
            "emulator": self.emulator,
            "functions": dict(functions),
        }

    def _role(
        self, process: psutil.Process, gateway_role: str, functions: Mapping[int, str]
    ) -> str | None:
        if process.pid == self.load_generator:
            return LOAD_GENERATOR
        if not self.local:
            return None  # the runner itself, idle while Locust runs
        if process.pid == self.gateway:
            return gateway_role
        if process.pid == self.emulator:
            return EMULATOR
        if process.pid in functions:
            return f"{HANDLER_PREFIX}{functions[process.pid]}"
        if "resource_tracker" in " ".join(process.cmdline()):
            return None  # multiprocessing's bookkeeping, idle
        return HANDLERS  # a container starting (not yet in its pool's list)


def _cpu_waiting_seconds(path: str = "/proc/pressure/cpu") -> float | None:
    """PSI's ``some`` total for the CPU, in seconds (None without PSI, e.g. not Linux)."""
    try:
        with open(path) as pressure:
            for line in pressure:
                if line.startswith("some "):
                    total = dict(field.split("=") for field in line.split()[1:])["total"]
                    return int(total) / 1_000_000
    except (OSError, KeyError, ValueError):
        return None
    return None


def load_average() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))
