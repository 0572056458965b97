"""The runtime helpers: model state restored, batches cover everything, seeds isolated."""

import numpy as np
import pytest
import torch

from seqsal._runtime import batch_slices, check_seed, model_on, progress_enabled, rng, torch_seed
from seqsal.errors import InputError


class Boom(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, x):
        raise RuntimeError("model failed mid-way")


def test_model_on_restores_mode_and_grad_flags_after_an_exception():
    model = Boom()
    model.train()
    with pytest.raises(RuntimeError, match="mid-way"), model_on(model, "cpu"):
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())
        model(torch.zeros(1, 3))
    assert model.training
    assert all(p.requires_grad for p in model.parameters())


def test_model_on_leaves_an_eval_frozen_model_untouched_and_restores_a_mixed_one():
    calls = []

    class Counting(torch.nn.Sequential):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = Counting(torch.nn.Linear(3, 2), torch.nn.ReLU()).eval()
    model.requires_grad_(False)
    calls.clear()
    with model_on(model, "cpu"):
        assert not model.training
    assert calls == []  # already in eval mode with frozen weights: nothing to switch
    # a half-frozen model in train mode: switched for the block, then restored
    model.train()
    model[0].bias.requires_grad_(True)
    calls.clear()
    with model_on(model, "cpu"):
        assert not model.training and not model[0].training
        assert not any(p.requires_grad for p in model.parameters())
    assert calls == [False, True]
    assert model.training and model[0].training
    assert model[0].bias.requires_grad and not model[0].weight.requires_grad


@pytest.mark.parametrize(("n", "batch_size"), [(0, 3), (1, 3), (7, 3), (9, 3), (10, 100)])
def test_batch_slices_cover_range_once_in_order(n, batch_size):
    covered = [i for s in batch_slices(n, batch_size) for i in range(n)[s]]
    assert covered == list(range(n))
    assert all(s.stop - s.start <= batch_size for s in batch_slices(n, batch_size))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_batch_size_must_be_positive_int(bad):
    with pytest.raises(InputError, match="batch_size"):
        list(batch_slices(10, bad))


def test_torch_seed_is_reproducible_and_leaves_global_state_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with torch_seed(7):
        a = torch.rand(5)
    with torch_seed(7):
        b = torch.rand(5)
    assert torch.equal(a, b)
    # The caller's generator continues as if the blocks never ran.
    assert torch.equal(torch.rand(3), expected_next)


def test_rng_rejects_bad_seed_and_is_deterministic():
    assert np.array_equal(rng(5).integers(0, 100, 10), rng(5).integers(0, 100, 10))
    with pytest.raises(InputError, match="seed"):
        rng(-1)


def test_check_seed_accepts_non_negative_integers_and_names_the_argument():
    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7 and check_seed(None) is None
    assert type(check_seed(np.uint32(3))) is int
    with pytest.raises(InputError, match=r"^seed=None; must be a non-negative integer$"):
        check_seed(None, allow_none=False)
    for bad in (-1, 1.5, 2.0, True, "3", np.random.default_rng(0)):
        with pytest.raises(InputError, match=r"; must be a non-negative integer or None$"):
            check_seed(bad)
    with pytest.raises(InputError, match=r"^layer_seed=-2; must be a non-negative integer$"):
        check_seed(-2, "layer_seed", allow_none=False)


def _seeded_calls():
    """Every library function that takes a seed, called with one (a tiny valid input)."""
    from seqsal.attribution import grad_x_input, integrated_gradients, saliency, smoothgrad
    from seqsal.attribution.baselines import noise_baseline
    from seqsal.attribution.cam import gradcam
    from seqsal.attribution.perturbation import occlusion
    from seqsal.attribution.smoothgrad import smoothgrad_noise
    from seqsal.evaluate.faithfulness import attribution_ranks
    from seqsal.evaluate.sanity import layer_seed
    from seqsal.image import demo_images, image_references
    from seqsal.models.zoo import build
    from seqsal.sequence.shuffle import dinucleotide_shuffle

    model = torch.nn.Sequential(
        torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(1)
    )
    X = torch.eye(4)[torch.arange(12) % 4].T.reshape(1, 4, 12).contiguous()
    model(X)
    return {
        "saliency": lambda seed: saliency(model, X, seed=seed),
        "grad_x_input": lambda seed: grad_x_input(model, X, seed=seed),
        "integrated_gradients": lambda seed: integrated_gradients(model, X, steps=2, seed=seed),
        "smoothgrad": lambda seed: smoothgrad(model, X, n_samples=2, seed=seed),
        "smoothgrad_noise": lambda seed: smoothgrad_noise(X, n_samples=2, seed=seed),
        "noise_baseline": lambda seed: noise_baseline(X, seed=seed),
        "occlusion": lambda seed: occlusion(model, X, window=2, seed=seed),
        "gradcam": lambda seed: gradcam(model, X, layer="0", seed=seed),
        "attribution_ranks": lambda seed: attribution_ranks(np.ones((1, 5)), 2, seed),
        "layer_seed": lambda seed: layer_seed(seed, 0),
        "build": lambda seed: build("cnn", input_length=20, n_targets=1, seed=seed),
        "dinucleotide_shuffle": lambda seed: dinucleotide_shuffle(X.numpy(), seed=seed),
        "torch_seed": lambda seed: torch_seed(seed).__enter__(),
        "image_references": lambda seed: image_references(np.zeros((1, 1, 4, 4)), seed=seed),
        "demo_images": lambda seed: demo_images(1, size=8, seed=seed),
    }


@pytest.mark.parametrize("name", list(_seeded_calls()))
def test_every_seeded_function_checks_its_seed_the_same_way(name):
    call = _seeded_calls()[name]
    call(3)  # a good seed runs
    for bad in (-1, 1.5, True):
        with pytest.raises(InputError, match=r"^seed=.*; must be a non-negative integer"):
            call(bad)


def test_progress_is_off_when_not_a_terminal(capsys):
    # pytest captures stderr, so it is not a terminal.
    assert progress_enabled(None) is False
    assert progress_enabled(True) is True


@pytest.mark.parametrize("bad", [-1, 1.0, True, "2"])
def test_zoo_depth_options_must_be_non_negative_integers(bad):
    from seqsal.models import zoo

    with pytest.raises(InputError, match=r"n_blocks=.*non-negative integer"):
        zoo.build("cnn", input_length=100, n_targets=1, n_blocks=bad)
    with pytest.raises(InputError, match=r"n_layers=.*non-negative integer"):
        zoo.build("dilated", input_length=100, n_targets=1, n_layers=bad)
    assert zoo.build("cnn", input_length=100, n_targets=1, n_blocks=0).n_targets == 1


@pytest.fixture
def two_cores(monkeypatch):
    """Shard over two cores whatever this machine has (torch at 2 intra-op threads)."""
    import seqsal._runtime as runtime

    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "usable_cores", lambda: 2)
    torch.set_num_threads(2)
    yield runtime
    torch.set_num_threads(before)


def test_map_shards_splits_over_single_threaded_workers_and_keeps_the_callers_threads(
    two_cores,
):
    import threading

    seen = []

    def fn(part):
        seen.append(
            (threading.current_thread().name, torch.get_num_threads(), torch.is_grad_enabled())
        )
        return part.T * 2, part.sum(dim=1)[None]  # rows along dim 1 in both

    Z = torch.arange(40.0).view(10, 4)
    cpu = torch.device("cpu")
    assert two_cores.map_shards(fn, Z)[0].shape == (4, 10) and len(seen) == 1  # no block
    seen.clear()
    with torch.no_grad(), two_cores.sharding(10, cpu) as k:
        assert k == 2 and torch.get_num_threads() == 1  # the caller, inside the block
        doubled, sums = two_cores.map_shards(fn, Z, dim=1)
        with two_cores.sharding(10, cpu) as inner:  # nested: the outer block's split
            assert inner == 2
    assert len(seen) == 2  # 10 rows // MIN_SHARD_ROWS (4) = 2 shards
    # on the pool's workers, single-threaded, in the caller's grad mode
    assert all(name.startswith("seqsal-shard") and n == 1 and not grad for name, n, grad in seen)
    torch.testing.assert_close(doubled, Z.T * 2, rtol=0, atol=0)
    torch.testing.assert_close(sums, Z.sum(dim=1)[None], rtol=0, atol=0)
    # the caller, and threads started afterwards, keep torch's process-wide setting
    assert torch.get_num_threads() == 2
    later = []
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert later == [2]
    # too few rows, an accelerator, or one thread: no split
    assert two_cores.n_shards(7, cpu) == 1
    assert two_cores.n_shards(1000, torch.device("meta")) == 1
    torch.set_num_threads(1)
    assert two_cores.n_shards(1000, cpu) == 1


def test_map_shards_waits_for_every_shard_and_raises_the_first_error(two_cores):
    import time

    finished = []

    def fn(part):
        if part[0, 0] == 0:
            raise ValueError("first shard failed")
        time.sleep(0.2)
        finished.append(True)
        return part

    with pytest.raises(ValueError, match="first shard failed"):
        with two_cores.sharding(8, torch.device("cpu")):
            two_cores.map_shards(fn, torch.arange(16.0).view(8, 2))
    assert finished == [True]  # the other shard had finished before the error came back
    assert torch.get_num_threads() == 2  # restored on the way out


def test_sharding_gives_back_a_thread_count_above_the_cores(two_cores, monkeypatch):
    monkeypatch.setattr(two_cores, "_pool", None)  # the pool is made inside this test
    torch.set_num_threads(3)  # more threads than the (patched) 2 cores
    with two_cores.sharding(64, torch.device("cpu")) as k:
        assert k == 2 and two_cores._pool[0] == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3


def test_model_on_restores_each_modules_own_mode():
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout(0.5)
    ).train()
    model[1].eval()  # a frozen batch norm inside a model in train mode
    with model_on(model, "cpu"):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [True, True, False, True]
