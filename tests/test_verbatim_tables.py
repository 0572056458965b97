"""Tables written field by field as they came: a name holding a quote is not CSV-quoted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqsal.cli import main

QUOTED = 'ZNF"7\'s site, "a"'


def test_motif_annotation_keeps_quotes_verbatim_and_reads_back(tmp_path):
    from seqsal.motifs.match import ANNOTATION_COLUMNS, read_annotation, write_annotation

    row = {column: 0 for column in ANNOTATION_COLUMNS}
    row.update(
        motif="pos_pattern_0",
        match_id="MA0001.1",
        match_name=QUOTED,
        family='"C2H2" zinc finger',
        tf_class="",
        p_value=1.5e-7,
        q_value=float("nan"),
        orientation="+",
        significant=True,
        status="ok",
    )
    table = pd.DataFrame([row], columns=ANNOTATION_COLUMNS)
    path = tmp_path / "motifs.tsv"
    write_annotation(table, path)
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ANNOTATION_COLUMNS
    fields = dict(zip(ANNOTATION_COLUMNS, lines[1].split("\t"), strict=True))
    assert fields["match_name"] == QUOTED and fields["family"] == '"C2H2" zinc finger'
    assert fields["p_value"] == "1.5e-07" and fields["q_value"] == ""
    back = read_annotation(path)
    assert back["match_name"].tolist() == [QUOTED]
    assert back["family"].tolist() == ['"C2H2" zinc finger']
    assert back["significant"].tolist() == [True]


@pytest.fixture(scope="module")
def predict_data(tmp_path_factory):
    from seqsal.models import zoo
    from seqsal.models.load import save_model

    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    (root / "genome.fa").write_text(">chr1\n" + "".join(rng.choice(list("ACGT"), 200)) + "\n")
    (root / "regions.bed").write_text(
        f"chr1\t10\t40\t{QUOTED}\t0\t+\nchr1\t100\t130\tplain\t0\t-\n"
    )
    model = zoo.build("cnn", input_length=30, n_targets=1, seed=2)
    save_model(
        model,
        root / "model",
        arch="cnn",
        arch_kwargs={},
        input_length=30,
        targets=["activity"],
        task="regression",
    )
    return root


def test_predictions_table_keeps_region_names_verbatim(predict_data, tmp_path):
    from seqsal.models.load import load_model
    from seqsal.models.predict import predict_regions

    out = tmp_path / "predictions.tsv"
    argv = ["predict", "--model", str(predict_data / "model"), "--no-progress"]
    argv += ["--fasta", str(predict_data / "genome.fa"), "--out", str(out)]
    assert main([*argv, "--regions", str(predict_data / "regions.bed")]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split("\t")[:6] == ["chrom", "start", "end", "name", "score", "strand"]
    assert [line.split("\t")[3] for line in lines[1:]] == [QUOTED, "plain"]
    expected = predict_regions(
        load_model(predict_data / "model"),
        predict_data / "genome.fa",
        predict_data / "regions.bed",
    )
    written = [float(line.split("\t")[-1]) for line in lines[1:]]
    np.testing.assert_allclose(written, expected["activity"], rtol=1e-5)


def test_scan_and_candidates_keep_a_quoted_chromosome_name_verbatim(predict_data, tmp_path):
    chrom = 'chr"A'
    rng = np.random.default_rng(1)
    genome = tmp_path / "quoted.fa"
    genome.write_text(f">{chrom}\n" + "".join(rng.choice(list("ACGT"), 300)) + "\n")
    scores = tmp_path / "scores.tsv"
    common = ["--model", str(predict_data / "model"), "--fasta", str(genome)]
    assert main(["scan", *common, "--stride", "10", "--out", str(scores), "--no-progress"]) == 0
    rows = [line.split("\t") for line in scores.read_text().splitlines()[1:]]
    assert len(rows) == 28 and {row[0] for row in rows} == {chrom}
    bed = tmp_path / "candidates.bed"
    argv = ["candidates", *common, "--scores", str(scores), "--quantile", "0.5"]
    assert main([*argv, "--null-windows", "10", "--out", str(bed)]) == 0
    rows = [line.split("\t") for line in bed.read_text().splitlines()[1:]]
    assert rows and {row[0] for row in rows} == {chrom}
