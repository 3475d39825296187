"""How `just dev`, `just load` and `just bench` are told to reach the emulator over TLS."""

from __future__ import annotations

import pytest

from bench.__main__ import command_line as bench_command_line
from emulator.__main__ import _parser as dev_command_line
from loadtests.__main__ import _emulator_label
from loadtests.__main__ import _parser as load_command_line


def test_bench_measures_both_transports_unless_told_one() -> None:
    assert bench_command_line().parse_args([]).transport == "both"
    assert bench_command_line().parse_args(["--transport", "tls"]).transport == "tls"
    assert bench_command_line().parse_args(["--transport", "http"]).transport == "http"


def test_bench_refuses_an_unknown_transport() -> None:
    with pytest.raises(SystemExit):
        bench_command_line().parse_args(["--transport", "quic"])


def test_dev_and_load_stay_on_plain_http_unless_asked_for_tls() -> None:
    assert dev_command_line().parse_args([]).tls is False
    assert dev_command_line().parse_args(["--tls"]).tls is True
    assert load_command_line().parse_args([]).tls is False
    assert load_command_line().parse_args(["--tls"]).tls is True


def test_the_load_summary_says_how_the_functions_reach_the_emulator() -> None:
    over_tls = _emulator_label(load_command_line().parse_args(["--tls"]))
    plain = _emulator_label(load_command_line().parse_args([]))
    assert "reached over HTTPS (local CA)" in over_tls
    assert "reached over plain HTTP" in plain
