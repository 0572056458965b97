"""Batched prediction: batch-size independence, streaming, state restored, shapes."""

import numpy as np
import pytest
import torch
from _toys import onehot_codes
from torch import nn

from seqsal.errors import InputError, ModelError
from seqsal.models import load_model, predict, zoo


@pytest.fixture
def x():
    g = np.random.default_rng(1)
    return onehot_codes(g.integers(0, 4, size=(23, 80)))


@pytest.fixture
def model():
    return zoo.build(
        "cnn", input_length=80, n_targets=3, filters=8, conv_filters=8, hidden=8, seed=0
    )


def test_independent_of_batch_size_and_matches_a_plain_forward(model, x):
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    for batch_size in (1, 4, 7, 23, 256):
        out = predict(model, x, batch_size=batch_size)
        assert out.shape == (23, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-6)


def test_accepts_torch_loaded_model_and_streams_batches(model, x):
    expected = predict(model, x)
    np.testing.assert_array_equal(predict(model, torch.from_numpy(x)), expected)
    np.testing.assert_array_equal(predict(load_model(model), x), expected)
    chunks = (x[i : i + 5] for i in range(0, len(x), 5))  # a generator, consumed once
    np.testing.assert_allclose(predict(model, chunks, batch_size=3), expected, rtol=1e-5, atol=1e-6)


def test_model_state_and_grad_flags_restored(model, x):
    model.train()
    model.trunk[0].weight.requires_grad_(True)
    predict(model, x, device="cpu")
    assert model.training
    assert all(p.requires_grad for p in model.parameters())
    assert next(model.parameters()).device.type == "cpu"


class Scalar(nn.Module):
    def forward(self, x):
        return x[:, 0].sum(dim=-1)  # (n,): count of A


def test_one_dimensional_output_becomes_a_column(x):
    out = predict(Scalar(), x)
    assert out.shape == (23, 1)
    np.testing.assert_array_equal(out[:, 0], x[:, 0].sum(axis=-1))


def test_bad_inputs(model, x):
    with pytest.raises(InputError, match=r"shape \(4, 80\)|\(4, 80\) does not fit"):
        predict(model, x[0])
    with pytest.raises(InputError, match="batch_size=0"):
        predict(model, x, batch_size=0)
    with pytest.raises(InputError, match="model must be"):
        predict("model", x)

    class Bad(nn.Module):  # (n, 4, L, 1): no head of that rank
        def forward(self, x):
            return x[..., None]

    with pytest.raises(ModelError, match="output has shape"):
        predict(Bad(), x)

    class Text(nn.Module):
        def forward(self, x):
            return "profile"

    with pytest.raises(ModelError, match="returned a str; expected a tensor, or a tuple"):
        predict(Text(), x)


def test_predict_takes_image_shaped_input_and_equals_one_forward():
    """Not only DNA: any (n, ...) input goes through in batches, equal to one forward pass."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 6, 3)).eval()
    X = torch.rand(9, 3, 6, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(X).numpy()
    for batch_size in (1, 4, 9):
        got = predict(model, X, batch_size=batch_size, progress=False)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(InputError, match=r"expected \(n, 4, L\)"):
        predict(model, torch.rand(5), progress=False)


def test_write_predictions_keeps_fields_verbatim_and_nan_empty(tmp_path):
    import pandas as pd

    from seqsal.models.predict import write_predictions

    table = pd.DataFrame(
        {
            "chrom": ["chr1", "chr2"],
            "start": [0, 7],
            "end": [10, 17],
            "name": ['peak "A" #1', "b"],
            "pred_activity": [0.1234567, np.nan],
        }
    )
    write_predictions(table, tmp_path / "p.tsv")
    assert (tmp_path / "p.tsv").read_text() == (
        "chrom\tstart\tend\tname\tpred_activity\n"
        'chr1\t0\t10\tpeak "A" #1\t0.123457\n'
        "chr2\t7\t17\tb\t\n"
    )
    with pytest.raises(InputError, match="column 'name' row 1"):
        write_predictions(table.assign(name=["a", "b\tc"]), tmp_path / "q.tsv")
    assert not (tmp_path / "q.tsv").exists()
