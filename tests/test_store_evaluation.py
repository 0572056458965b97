"""seqsal.store_evaluation called directly: a store's target and method, chunked faithfulness
equal to seqsal.evaluate on the whole arrays, the randomisation test with the store's settings,
the folder's tables and summary; and plot.evaluate.write_evaluation_figures.

``seqsal evaluate`` end to end is tested in test_cli_evaluate.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _toys import motif_detector

from seqsal.errors import InputError
from seqsal.io.store import AttributionStore, open_store
from seqsal.models.load import LoadedModel, load_model, save_torchscript
from seqsal.store_evaluation import (
    StoreEvaluation,
    evaluate_store,
    store_attribution,
    store_target,
    write_store_evaluation,
)

MOTIF = "GATTACA"
LENGTH = 30
N = 7


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A planted-motif genome (one region per chromosome), the motif detector as TorchScript,
    and its IG store (8 steps, 2 shuffled references)."""
    from seqsal.dna import attribute_to_store
    from seqsal.io.fasta import open_genome, write_fasta
    from seqsal.sequence.windows import make_windows

    root = tmp_path_factory.mktemp("store_evaluation")
    rng = np.random.default_rng(4)
    records, rows = [], []
    for i in range(N):
        seq = list(rng.choice(list("ACGT"), size=LENGTH))
        at = int(rng.integers(0, LENGTH - len(MOTIF)))
        seq[at : at + len(MOTIF)] = MOTIF
        records.append((f"chr{i}", "".join(seq)))
        rows.append((f"chr{i}", 0, LENGTH, f"r{i}", 0, "+-"[i % 2]))
    write_fasta(records, root / "genome.fa")
    regions = pd.DataFrame(rows, columns=["chrom", "start", "end", "name", "score", "strand"])
    save_torchscript(
        motif_detector(MOTIF, threshold=6.0, length=LENGTH),
        root / "model.pt",
        input_length=LENGTH,
        targets=["motif"],
        task="regression",
    )
    model = load_model(root / "model.pt")
    with open_genome(root / "genome.fa") as genome:
        windows = make_windows(regions, LENGTH, chrom_sizes=genome.chrom_sizes)
        attribute_to_store(
            model, genome, windows, root / "attr.h5", steps=8, baseline="shuffle:2", seed=0
        )
    return root, model


def test_chunked_curves_equal_seqsal_evaluate_on_the_whole_store(data):
    from seqsal.evaluate import faithfulness

    root, model = data
    with open_store(root / "attr.h5") as store:
        X = np.asarray(store.raw[:], dtype=np.float32)
        projected = np.asarray(store.projected[:], dtype=np.float32)
        coords = store.coords
    whole = faithfulness(
        model.module,
        X,
        projected,
        target=0,
        score="raw",
        baseline="shuffle",
        start="shuffle",
        steps=10,
        n_random=2,
        seed=3,
    )
    result = evaluate_store(
        root / "attr.h5", model, eval_steps=10, n_random=2, chunk_size=3, seed=3
    )
    assert isinstance(result, StoreEvaluation)
    for kind in ("deletion", "insertion"):
        ours, reference = getattr(result.faithfulness, kind), getattr(whole, kind)
        np.testing.assert_allclose(ours.auc, reference.auc, rtol=1e-6)
        np.testing.assert_allclose(ours.random_auc, reference.random_auc, rtol=1e-6)
    # the planted motif: removing the map's top positions first kills the score faster
    assert result.faithfulness.deletion.auc.mean() < result.faithfulness.deletion.random_auc.mean()
    assert result.names == coords["name"].tolist()
    assert (result.target, result.target_name, result.method) == (0, "motif", "ig")
    assert result.label == "ig on motif"
    assert result.sanity is None
    summary = result.summary
    assert summary["score"] == "raw"  # auto, for a regression model
    assert summary["n_regions"] == N and summary["eval_steps"] == 10
    assert summary["model"] == model.source and summary["store"] == str(root / "attr.h5")
    assert summary["deletion"] == result.faithfulness.deletion.summary()


def test_eval_steps_are_capped_at_one_per_feature_and_max_regions_takes_the_first(data):
    root, _ = data
    result = evaluate_store(
        root / "attr.h5", root / "model.pt", patch=4, eval_steps=50, n_random=1, max_regions=3
    )
    assert result.summary["eval_steps"] == 8  # ceil(30 / 4)
    assert result.summary["model"] == str(root / "model.pt")
    assert result.names == ["r0", "r1", "r2"]
    assert len(result.faithfulness.deletion.x) == 9


def test_tables_and_summary_of_the_folder(data, tmp_path):
    from seqsal.plot.evaluate import write_evaluation_figures

    root, model = data
    result = evaluate_store(root / "attr.h5", model, eval_steps=5, n_random=2, model_name="m")
    written = write_store_evaluation(result, tmp_path)
    assert [p.name for p in written] == ["curves.tsv", "auc.tsv", "summary.json"]
    auc = pd.read_csv(tmp_path / "auc.tsv", sep="\t")
    assert list(auc.columns) == [
        "name", "chrom", "start", "end", "strand", "kind", "target", "auc", "random_auc",
        "random_auc_sd", "better",
    ]  # fmt: skip
    assert auc["kind"].tolist() == ["deletion"] * N + ["insertion"] * N
    assert auc["strand"].tolist() == ["+", "-"] * 3 + ["+"] + ["+", "-"] * 3 + ["+"]
    np.testing.assert_allclose(auc["auc"][:N], result.faithfulness.deletion.auc, rtol=1e-6)
    curves = pd.read_csv(tmp_path / "curves.tsv", sep="\t")
    # 2 kinds x (map + 2 random orderings) x 6 points per region
    assert len(curves) == N * 2 * 3 * 6
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] == "m"
    assert summary == json.loads(json.dumps(result.summary, default=str))
    figures = write_evaluation_figures(tmp_path, result.faithfulness, title=result.label)
    assert [p.name for p in figures] == ["curves.png"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_randomisation_test_runs_the_store_method_and_is_summarised(data, tmp_path):
    from seqsal.plot.evaluate import write_evaluation_figures

    root, model = data
    result = evaluate_store(
        root / "attr.h5", model, eval_steps=5, n_random=1, sanity=True, sanity_regions=4
    )
    table = result.sanity
    assert table.columns[0] == "method" and set(table["method"]) == {"ig"}
    assert set(table["mode"]) >= {"cascading", "independent"}
    top = table[table["mode"] == "cascading"].sort_values("step")["spearman_abs"].iloc[0]
    assert result.summary["sanity_top_layer_spearman_abs"] == pytest.approx(float(top))
    written = write_store_evaluation(result, tmp_path)
    assert "sanity.tsv" in [p.name for p in written]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sanity.tsv", sep="\t"), table)
    figures = write_evaluation_figures(tmp_path, result.faithfulness, table, title="t")
    assert [p.name for p in figures] == ["curves.png", "sanity.png"]


def test_the_store_method_is_rebuilt_with_the_store_settings(data):
    from seqsal.dna import attribute_dna

    root, model = data
    with open_store(root / "attr.h5") as store:
        attrs = dict(store.attrs)
        X = np.asarray(store.raw[:3], dtype=np.float32)
    assert (attrs["steps"], attrs["baseline"]) == (8, "shuffle:2")
    name, function = store_attribution(attrs, target_names=model.targets, seed=5)
    assert name == "ig"
    expected = attribute_dna(
        model.module, X, method="ig", steps=8, baseline="shuffle:2", seed=5, progress=False
    ).projected
    np.testing.assert_allclose(function(model.module, X, 0), expected, rtol=1e-5, atol=1e-7)
    # with the store's default steps (32) the map differs: the settings are the store's
    other = attribute_dna(
        model.module, X, method="ig", baseline="shuffle:2", seed=5, progress=False
    ).projected
    assert not np.allclose(other, expected, rtol=1e-5, atol=1e-7)
    name, function = store_attribution(attrs, method="saliency")
    saliency = attribute_dna(model.module, X, method="saliency", progress=False).projected
    assert name == "saliency"
    np.testing.assert_allclose(function(model.module, X, 0), saliency, rtol=1e-6)
    with pytest.raises(InputError, match="does not record its method; give --sanity-method"):
        store_attribution({"method": "none"})


def _loaded(targets):
    return LoadedModel(
        module=None, input_length=4, targets=targets, task="regression", metadata={}, checksum=""
    )


def test_store_target_prefers_the_given_then_the_stored_index_then_the_name():
    three = _loaded(["a", "b", "c"])
    assert store_target(three, {"target_index": 2, "target": "a"}) == 2
    assert store_target(three, {"target_index": -1, "target": "b"}) == 1
    assert store_target(three, {"target_index": 2}, target="a") == 0
    assert store_target(three, {}, target=1) == 1
    assert store_target(_loaded(["only"]), {"target": "other"}) == 0
    with pytest.raises(InputError) as err:
        store_target(three, {"target_index": 7, "target": "z"})
    assert str(err.value) == (
        "the store does not say which output it explains; give --target (one of ['a', 'b', 'c'])"
    )


def test_bad_stores_and_settings_are_one_line_errors(data, tmp_path):
    root, model = data
    empty = tmp_path / "empty.h5"
    with AttributionStore(empty, length=LENGTH):
        pass
    with pytest.raises(InputError, match="the store holds no regions"):
        evaluate_store(empty, model)
    other = tmp_path / "other.pt"
    save_torchscript(
        motif_detector(MOTIF, length=40), other, input_length=40, targets=["m"], task="regression"
    )
    with pytest.raises(InputError) as err:
        evaluate_store(root / "attr.h5", load_model(other))
    assert str(err.value) == (
        f"{root / 'attr.h5'}: the store's windows are 30 bp but the model takes 40 bp"
    )
    for setting, message in [
        ({"patch": 0}, "patch=0; must be a positive integer"),
        ({"n_random": -1}, "n_random=-1; must be a non-negative integer"),
        ({"score": "prob"}, "score='prob'; expected one of auto, sigmoid, softmax, raw"),
        ({"reference": "blur"}, "reference='blur'; expected one of shuffle, zeros"),
        ({"max_regions": 0}, "max_regions=0; must be a positive integer"),
    ]:
        with pytest.raises(InputError) as err:
            evaluate_store(root / "attr.h5", model, **setting)
        assert str(err.value) == message


def test_a_deepshap_store_is_rebuilt_with_its_references(data):
    from seqsal.dna import attribute_dna
    from seqsal.models import zoo

    root, _ = data
    with open_store(root / "attr.h5") as store:
        X = np.asarray(store.raw[:2], dtype=np.float32)
    module = zoo.build("cnn", input_length=X.shape[-1], n_targets=1, seed=0)
    attrs = {"method": "deepshap", "baseline": "shuffle:3", "steps": 0, "correction": True}
    name, function = store_attribution(attrs, seed=2)
    assert name == "deepshap"
    expected = attribute_dna(
        module, X, method="deepshap", baseline="shuffle:3", seed=2, progress=False
    ).projected
    np.testing.assert_allclose(function(module, X, 0), expected, rtol=1e-5, atol=1e-7)
    # not the method's default 20 references
    other = attribute_dna(module, X, method="deepshap", seed=2, progress=False).projected
    assert not np.allclose(other, expected, rtol=1e-5, atol=1e-7)
