"""CPU torch tensors go through the BN statistics functions without copies, with the C++ results,
and a DataLoader takes the short-cycle sampler as its batch_sampler."""

import numpy as np
import pytest
import torch

import multigrid
import cpp_reference
from cpp_reference import needs_helper


@needs_helper
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pool_on_tensors_equals_cpp_and_writes_in_place(dtype):
    generator = torch.Generator().manual_seed(1)
    means = torch.randn(4, 9, generator=generator, dtype=dtype)
    variances = torch.rand(4, 9, generator=generator, dtype=dtype) + 0.5
    mean = torch.empty(9, dtype=dtype)
    variance = torch.empty(9, dtype=dtype)
    returned = multigrid.pool_split_statistics(means, variances, 4, mean, variance)
    assert returned[0] is mean and returned[1] is variance
    expected = cpp_reference.statistics(
        "pool", 4, 9, *[float(x) for x in means.flatten()], *[float(x) for x in variances.flatten()]
    )
    numpy_type = np.float32 if dtype == torch.float32 else np.float64
    np.testing.assert_array_equal(mean.numpy(), np.array(expected["first"]).astype(numpy_type))
    np.testing.assert_array_equal(variance.numpy(), np.array(expected["second"]).astype(numpy_type))


def test_tensor_outputs_share_memory_with_the_buffers_they_view():
    # A BN layer's running statistics, split-major, pooled into a plain BN's buffers in place.
    running_mean = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    running_var = torch.ones(3, 4)
    plain_mean = torch.zeros(8)
    plain_var = torch.zeros(8)
    multigrid.pool_split_statistics(running_mean, running_var, 3, plain_mean[:4], plain_var[:4])
    assert plain_mean.tolist() == [4.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0, 0.0]
    tiled = torch.zeros(3 * 4)
    multigrid.tile_statistics(plain_mean[:4], 3, tiled)
    assert tiled.reshape(3, 4).tolist() == [[4.0, 5.0, 6.0, 7.0]] * 3
    # Pooled variance: the splits' 1 plus the spread of their means 0, 4, 8 (32 / 3).
    assert plain_var[:4].tolist() == pytest.approx([1 + 32 / 3] * 4)
    multigrid.accumulate_equal_weight(torch.full((4,), 2.0), 1, plain_var[:4])
    assert plain_var.tolist() == pytest.approx([(1 + 32 / 3 + 2) / 2] * 4 + [0.0] * 4)


def test_a_dataloader_takes_the_sampler_as_its_batch_sampler():
    class Clips(torch.utils.data.Dataset):
        def __len__(self):
            return 500

        def __getitem__(self, index):
            return torch.tensor(index)

    config = {"NUM_GPUS": 2, "TRAIN": {"BATCH_SIZE": 8}, "SOLVER": {"MAX_EPOCH": 6},
              "MULTIGRID": {"LONG_CYCLE": True, "SHORT_CYCLE": True}}
    plan = multigrid.Plan(config, 500)
    sampler = multigrid.ShortCycleBatchSampler(plan, rank=1, seed=3)
    loader = torch.utils.data.DataLoader(Clips(), batch_sampler=sampler, num_workers=0)
    for epoch in range(plan.epochs):
        sampler.set_epoch(epoch)
        sizes = [len(batch) for batch in loader]
        assert len(loader) == len(sizes) == plan.iterations_in_epoch(epoch)
        assert sizes == [plan.at(epoch, i).batch_size for i in range(len(sizes))]


def test_tensors_that_cannot_be_viewed_are_refused_with_their_own_message():
    with pytest.raises(RuntimeError):
        multigrid.tile_statistics(torch.ones(3, requires_grad=True), 2)
