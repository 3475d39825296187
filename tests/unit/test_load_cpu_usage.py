"""CPU per component from two samples of the processes' CPU counters."""

from __future__ import annotations

import os

import pytest

from loadtests.cpu_usage import (
    CpuSample,
    StackProcesses,
    by_component,
    by_function,
    cores_used,
)


def test_cores_are_cpu_seconds_per_wall_second_per_component() -> None:
    # Given two samples ten seconds apart
    before = CpuSample(
        at=100.0,
        by_process={1: ("gateway", 4.0), 2: ("emulator", 10.0), 3: ("handler products", 1.0)},
        machine_busy=50.0,
    )
    after = CpuSample(
        at=110.0,
        by_process={1: ("gateway", 6.0), 2: ("emulator", 19.0), 3: ("handler products", 4.0)},
        machine_busy=66.0,
    )
    # Then each component's cores are its CPU seconds over the ten, the rest is elsewhere
    used = cores_used(before, after)
    assert used == pytest.approx(
        {"gateway": 0.2, "emulator": 0.9, "handler products": 0.3, "other processes": 0.2}
    )


def test_a_process_started_between_samples_counts_from_zero_and_a_gone_one_not_at_all() -> None:
    before = CpuSample(at=0.0, by_process={1: ("handler orders", 2.0)}, machine_busy=0.0)
    after = CpuSample(at=2.0, by_process={2: ("handler orders", 1.0)}, machine_busy=1.0)
    assert cores_used(before, after) == pytest.approx(
        {"handler orders": 0.5, "other processes": 0.0}
    )


def test_samples_at_the_same_moment_measure_nothing() -> None:
    sample = CpuSample(at=5.0)
    assert cores_used(sample, sample) == {}


def test_functions_fold_into_handlers_and_are_listed_by_name() -> None:
    cores = {"gateway": 0.1, "handler products": 0.3, "handler orders": 0.2, "handlers": 0.05}
    assert by_component(cores) == pytest.approx({"gateway": 0.1, "handlers": 0.55})
    assert by_function(cores) == {"products": 0.3, "orders": 0.2}


def test_this_process_is_the_gateway_and_its_functions_are_named() -> None:
    pytest.importorskip("psutil", reason="installed with the load group (uv run --group load)")
    # Given this process standing in for the gateway, and a container map naming it
    processes = StackProcesses(functions=lambda: {})
    sample = processes.sample()
    # Then it is sampled as the gateway (moto inside it, since no emulator process is given)
    assert sample.by_process[os.getpid()][0] == "gateway + emulator"
    assert sample.machine_busy > 0
    assert processes.describe() == {"gateway": os.getpid(), "emulator": None, "functions": {}}
