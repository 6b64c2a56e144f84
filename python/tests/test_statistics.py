"""The BatchNorm statistics functions on NumPy arrays equal the C++ library's results, read
contiguous inputs in place, write their outputs in place and refuse what they cannot use."""

import numpy as np
import pytest

import multigrid
import cpp_reference
from cpp_reference import needs_helper

RNG = np.random.default_rng(14)


def cpp_pool(means, variances):
    splits, channels = means.shape
    result = cpp_reference.statistics(
        "pool", splits, channels, *[float(x) for x in means.ravel()], *[float(x) for x in variances.ravel()]
    )
    return np.array(result["first"]), np.array(result["second"])


@needs_helper
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("splits, channels", [(1, 3), (4, 7), (8, 300), (2, 513)])
def test_pool_equals_cpp(dtype, splits, channels):
    means = RNG.normal(size=(splits, channels)).astype(dtype)
    variances = RNG.uniform(0.1, 2.0, size=(splits, channels)).astype(dtype)
    mean, variance = multigrid.pool_split_statistics(means, variances, splits)
    expected_mean, expected_variance = cpp_pool(means, variances)
    assert mean.dtype == dtype and variance.dtype == dtype
    # The library sums in double and casts once: float32 results are the double ones rounded.
    np.testing.assert_array_equal(mean, expected_mean.astype(dtype))
    np.testing.assert_array_equal(variance, expected_variance.astype(dtype))


@needs_helper
def test_tile_accumulate_and_population_equal_cpp():
    statistic = RNG.normal(size=5)
    tiled = multigrid.tile_statistics(statistic, 3)
    np.testing.assert_array_equal(tiled, cpp_reference.statistics("tile", 5, 3, *map(float, statistic))["first"])

    value = RNG.normal(size=6)
    average = RNG.normal(size=6)
    expected = cpp_reference.statistics("accumulate", 6, 4, *map(float, value), *map(float, average))["first"]
    assert multigrid.accumulate_equal_weight(value, 4, average) is average
    np.testing.assert_array_equal(average, expected)

    population = multigrid.PopulationStatistics(4)
    numbers = []
    for count in (8.0, 8.0, 3.0):
        mean = RNG.normal(size=4)
        variance = RNG.uniform(0.5, 1.5, size=4)
        population.add(mean, variance, count)
        numbers += [count, *map(float, mean), *map(float, variance)]
    expected = cpp_reference.statistics("population", 4, 3, *numbers)
    mean, variance = population.result()
    assert population.batches == 3
    np.testing.assert_array_equal(mean, expected["first"])
    np.testing.assert_array_equal(variance, expected["second"])


def test_pooling_equals_the_statistics_of_the_concatenated_batch():
    data = RNG.normal(size=(4, 16, 6))  # splits, samples per split, channels
    means = data.mean(axis=1)
    variances = data.var(axis=1)  # biased: the pooled variance is then exact
    mean, variance = multigrid.pool_split_statistics(means, variances, 4)
    whole = data.reshape(-1, 6)
    np.testing.assert_allclose(mean, whole.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(variance, whole.var(axis=0), rtol=1e-12)


def test_outputs_are_written_in_place_and_returned():
    means = RNG.normal(size=(2, 3)).astype(np.float32)
    variances = np.ones((2, 3), np.float32)
    mean = np.zeros(3, np.float32)
    variance = np.zeros(3, np.float64)  # the output type may differ from the input's
    with pytest.raises(TypeError, match="variance: must have mean's element type"):
        multigrid.pool_split_statistics(means, variances, 2, mean, variance)
    variance = np.zeros(3, np.float32)
    returned = multigrid.pool_split_statistics(means, variances, 2, mean, variance)
    assert returned[0] is mean and returned[1] is variance
    np.testing.assert_array_equal(mean, means.mean(axis=0, dtype=np.float64).astype(np.float32))


def test_strided_inputs_are_copied_and_strided_outputs_refused():
    means = RNG.normal(size=(3, 8))
    variances = RNG.uniform(1, 2, size=(3, 8))
    expected = multigrid.pool_split_statistics(np.ascontiguousarray(means[:, ::2]), np.ascontiguousarray(variances[:, ::2]), 3)
    strided = multigrid.pool_split_statistics(means[:, ::2], variances[:, ::2], 3)
    np.testing.assert_array_equal(strided[0], expected[0])
    np.testing.assert_array_equal(strided[1], expected[1])
    transposed = multigrid.pool_split_statistics(means.T.copy().T, variances.T.copy().T, 3)
    np.testing.assert_array_equal(transposed[0], multigrid.pool_split_statistics(means, variances, 3)[0])
    with pytest.raises(ValueError, match="mean: must be contiguous"):
        multigrid.pool_split_statistics(means, variances, 3, np.zeros(16)[::2], np.zeros(8))


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="split_means: 7 values do not make 2 equal splits"):
        multigrid.pool_split_statistics(np.zeros(7), np.zeros(7), 2)
    with pytest.raises(ValueError, match="split_variances: has 6 values, expected 8"):
        multigrid.pool_split_statistics(np.zeros(8), np.zeros(6), 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        multigrid.pool_split_statistics(np.zeros(8, np.int64), np.zeros(8, np.int64), 2)
    with pytest.raises(TypeError, match="expected an array"):
        multigrid.pool_split_statistics([1.0, 2.0], [1.0, 1.0], 1)
    with pytest.raises(ValueError, match="average: .*read-only"):
        readonly = np.zeros(3)
        readonly.flags.writeable = False
        multigrid.accumulate_equal_weight(np.ones(3), 0, readonly)


def test_equal_weight_momentum():
    assert [multigrid.equal_weight_momentum(n) for n in range(3)] == [1.0, 0.5, 1 / 3]
