"""Percentiles and ratios of the bench's latency samples."""

from __future__ import annotations

import pytest

from bench.stats import percentile, ratio, summary


def test_percentiles_interpolate_between_closest_ranks() -> None:
    # Given the samples 1..100
    samples = [float(n) for n in range(100, 0, -1)]
    # Then the median lies between the two middle values, and the extremes are the extremes
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 100.0


def test_a_single_sample_is_every_percentile() -> None:
    assert summary([7.0]) == {"n": 1, "p50": 7.0, "p95": 7.0, "p99": 7.0, "mean": 7.0}


@pytest.mark.parametrize("q", [-1, 101])
def test_a_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], q)


def test_no_samples_have_no_percentile() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_a_ratio_against_zero_is_unknown_not_infinite() -> None:
    assert ratio(3.0, 4.0) == 0.75
    assert ratio(3.0, 0.0) is None
