"""seqsal.sequence.onehot: round trips, case, N handling, reverse complement, tangermeme as oracle."""

import logging

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqsal.errors import InputError
from seqsal.sequence.onehot import (
    ALPHABET,
    codes,
    codes_from_onehot,
    decode,
    encode,
    onehot_from_codes,
    reverse_complement,
    reverse_complement_codes,
)

IUPAC = "NRYSWKMBDHV"
DNA = st.text(alphabet="ACGTacgt" + IUPAC + IUPAC.lower() + "-.", max_size=200)
ACGTN = st.text(alphabet="ACGTN", min_size=1, max_size=200)
LOGGER = "seqsal.sequence.onehot"


def expected_decoded(seq: str) -> str:
    """What decode(encode(seq)) must give, computed without seqsal."""
    return "".join(c if c in "ACGT" else "N" for c in seq.upper())


def string_revcomp(seq: str) -> str:
    return seq.upper().translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


@settings(max_examples=200, deadline=None)
@given(DNA)
def test_round_trip_uppercases_and_turns_other_codes_into_n(seq):
    X = encode(seq, warn=False)
    assert X.dtype == np.float32
    assert X.shape == (4, len(seq))
    assert decode(X) == expected_decoded(seq)
    # Each column is one-hot or all zero, and the 1 sits in the row of the base.
    for j, c in enumerate(seq.upper()):
        column = X[:, j]
        if c in ALPHABET:
            assert column[ALPHABET.index(c)] == 1 and column.sum() == 1
        else:
            assert column.sum() == 0


@settings(max_examples=100, deadline=None)
@given(DNA)
def test_lowercase_is_the_same_base(seq):
    np.testing.assert_array_equal(encode(seq.lower(), warn=False), encode(seq.upper(), warn=False))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="ACGTacgtNR", min_size=7, max_size=7), min_size=1, max_size=8))
def test_batch_equals_one_by_one(seqs):
    X = encode(seqs, warn=False)
    assert X.shape == (len(seqs), 4, 7)
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(X[i], encode(s, warn=False))
    assert decode(X) == [expected_decoded(s) for s in seqs]


def test_codes_and_onehot_from_codes_are_the_primitives_of_encode():
    seq = "ACGTacgtNnRy-"
    np.testing.assert_array_equal(codes(seq), [0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4, 4, 4])
    np.testing.assert_array_equal(codes(seq.encode()), codes(seq))
    assert codes(seq).dtype == np.uint8
    np.testing.assert_array_equal(onehot_from_codes(codes(seq)), encode(seq, warn=False))
    batch = np.stack([codes("ACGN"), codes("TTGA")])
    np.testing.assert_array_equal(onehot_from_codes(batch), encode(["ACGN", "TTGA"], warn=False))
    np.testing.assert_array_equal(codes_from_onehot(encode(seq, warn=False)), codes(seq))


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_numba_kernel_and_numpy_path_agree(monkeypatch, caplog, size):
    from seqsal.sequence import onehot

    r = np.random.default_rng(size)
    seqs = ["".join(r.choice(list("ACGTacgtNnRy-"), size=size)) for _ in range(3)]
    code_rows = r.integers(0, 9, size=(2, 3, size))
    seqs[1] = "N" + seqs[1][1:]  # at least one warning

    def run():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            arrays = (encode(seqs), encode(seqs[0]), onehot_from_codes(code_rows))
        return arrays, [r.getMessage() for r in caplog.records if r.name == LOGGER]

    small, small_messages = run()
    monkeypatch.setattr(onehot, "_NUMBA_MIN_BYTES", 1)
    large, large_messages = run()
    for a, b in zip(small, large, strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert small_messages == large_messages and small_messages
    assert decode(large[0]) == [expected_decoded(s) for s in seqs]
    assert onehot_from_codes(code_rows).shape == (2, 3, 4, size)
    np.testing.assert_array_equal(
        codes_from_onehot(large[2].reshape(6, 4, size)),
        np.where(code_rows < 4, code_rows, 4).reshape(6, size),
    )


def test_non_ascii_character_is_one_position():
    X = encode("AC\u00e9GT", warn=False)
    assert decode(X) == "ACNGT"


def test_other_codes_are_counted_in_one_warning(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        encode(["ACGNNR", "nnACGT"])
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1
    message = records[0].getMessage()
    assert message.startswith("5 of 12 bases are not A/C/G/T")
    assert "'N' x 2" in message and "'n' x 2" in message and "'R' x 1" in message


def test_no_warning_when_clean_or_silenced(caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        encode("ACGTacgt")
        encode("NNNN", warn=False)
    assert not [r for r in caplog.records if r.name == LOGGER]


@settings(max_examples=100, deadline=None)
@given(ACGTN)
def test_agrees_with_tangermeme_on_uppercase_acgtn(seq):
    from tangermeme.utils import one_hot_encode

    oracle = one_hot_encode(seq).numpy().astype(np.float32)
    np.testing.assert_array_equal(encode(seq, warn=False), oracle)


@settings(max_examples=50, deadline=None)
@given(DNA.filter(len))
def test_agrees_with_tangermeme_after_uppercasing_and_ignoring_iupac(seq):
    # tangermeme rejects lowercase and every letter outside alphabet + ignore; with the
    # sequence uppercased and the other codes listed in `ignore` both are defined.
    from tangermeme.utils import one_hot_encode

    oracle = one_hot_encode(seq.upper(), ignore=list(IUPAC + "-.")).numpy().astype(np.float32)
    np.testing.assert_array_equal(encode(seq, warn=False), oracle)


@settings(max_examples=100, deadline=None)
@given(DNA)
def test_reverse_complement_matches_strings_and_is_an_involution(seq):
    X = encode(seq, warn=False)
    rc = reverse_complement(X)
    assert decode(rc) == string_revcomp(expected_decoded(seq))
    np.testing.assert_array_equal(reverse_complement(rc), X)
    np.testing.assert_array_equal(
        reverse_complement_codes(codes(seq)), codes(string_revcomp(expected_decoded(seq)))
    )


def test_reverse_complement_torch_and_numpy_batched_and_copies():
    seqs = ["AACGTN", "GGGTCA", "ANCGTT"]
    X = encode(seqs, warn=False)
    expected = [string_revcomp(s) for s in seqs]
    rc_np = reverse_complement(X)
    assert decode(rc_np) == expected
    rc_np[0, 0, 0] = 7.0  # a copy: the input is untouched
    assert X[0, 0, -1] == 0 and decode(X) == seqs

    Xt = torch.from_numpy(X.copy())
    rc_t = reverse_complement(Xt)
    assert isinstance(rc_t, torch.Tensor) and rc_t.dtype == torch.float32
    assert decode(rc_t) == expected
    np.testing.assert_array_equal(rc_t.numpy(), reverse_complement(X))
    rc_t[0, 0, 0] = 7.0
    assert decode(Xt) == seqs
    assert decode(reverse_complement(Xt[1])) == expected[1]
    # Leading axes beyond one, e.g. shuffles (n, k, 4, L).
    stacked = np.stack([X, X[::-1]])
    np.testing.assert_array_equal(reverse_complement(stacked)[1, 0], reverse_complement(X[2]))


def test_decode_accepts_torch_bool_and_int():
    X = encode(["ACGN", "TTNA"], warn=False)
    assert decode(torch.from_numpy(X)) == ["ACGN", "TTNA"]
    assert decode(X.astype(bool)) == ["ACGN", "TTNA"]
    assert decode(X.astype(np.int8)) == ["ACGN", "TTNA"]


def test_encode_errors():
    with pytest.raises(InputError, match=r"seqs\[1\] has length 2 but seqs\[0\] has length 3"):
        encode(["ACG", "AC"])
    with pytest.raises(InputError, match=r"seqs is a int"):
        encode(5)
    with pytest.raises(InputError, match=r"seqs\[1\] is a int"):
        encode(["ACG", 3])
    assert encode([]).shape == (0, 4, 0)


def test_decode_and_reverse_complement_errors():
    with pytest.raises(
        InputError, match=r"X has shape \(8, 5, 100\) but must be \(4, L\) or \(n, 4, L\)"
    ):
        decode(np.zeros((8, 5, 100), dtype=np.float32))
    with pytest.raises(
        InputError, match=r"X has shape \(8, 5, 100\) but must be \(4, L\), \(n, 4, L\)"
    ):
        reverse_complement(torch.zeros(8, 5, 100))
    with pytest.raises(InputError, match=r"X has shape \(100,\)"):
        reverse_complement(np.zeros(100))
    with pytest.raises(InputError, match="expected a numpy array or torch tensor"):
        reverse_complement([[1, 0, 0, 0]])
    with pytest.raises(InputError, match="not one-hot"):
        decode(np.full((4, 3), 0.25, dtype=np.float32))
    with pytest.raises(InputError, match="column 1 of sequence 0 has more than one base"):
        decode(np.array([[[1, 1], [0, 1], [0, 0], [0, 0]]], dtype=np.float32))


@pytest.mark.parametrize("numba_path", [False, True])
def test_every_dtype_holds_the_same_values_and_int8_and_float32_equal_tangermeme(
    monkeypatch, numba_path
):
    import torch
    from tangermeme.utils import one_hot_encode

    from seqsal.sequence import onehot

    if numba_path:
        monkeypatch.setattr(onehot, "_NUMBA_MIN_BYTES", 1)
    r = np.random.default_rng(3)
    seq = "".join(r.choice(list("ACGTacgtN"), size=301))
    reference = encode(seq, warn=False)
    for dtype in (np.int8, np.uint8, np.float16, np.float32, "float32", np.dtype("int8")):
        X = encode(seq, warn=False, dtype=dtype)
        assert X.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(X.astype(np.float32), reference)
        batch = encode([seq, seq.swapcase()], warn=False, dtype=dtype)
        assert batch.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(batch[1].astype(np.float32), reference)
        from_codes = onehot_from_codes(codes(seq), dtype=dtype)
        assert from_codes.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(from_codes, X)
    # tangermeme's default is int8; asked for float32 it gives float32.  Like with like:
    ours_int8 = encode(seq.upper(), warn=False, dtype=np.int8)
    np.testing.assert_array_equal(ours_int8, one_hot_encode(seq.upper()).numpy())
    theirs_f32 = one_hot_encode(seq.upper(), dtype=torch.float32).numpy()
    np.testing.assert_array_equal(encode(seq.upper(), warn=False), theirs_f32)


@pytest.mark.parametrize("dtype", [np.float64, np.int16, "int32", bool, "nonsense", None])
def test_unknown_dtype_is_an_input_error(dtype):
    with pytest.raises(InputError, match="dtype"):
        encode("ACGT", dtype=dtype)
    with pytest.raises(InputError, match="dtype"):
        onehot_from_codes(codes("ACGT"), dtype=dtype)


def test_torch_dtype_is_an_input_error():
    with pytest.raises(InputError, match=r"dtype=torch\.int8"):
        encode("ACGT", dtype=torch.int8)


def test_onehot_from_codes_writes_into_out_and_checks_it():
    code_rows = np.stack([codes("ACGTN"), codes("ttgca")])
    out = np.full((3, 4, 5), 7, dtype=np.int8)
    result = onehot_from_codes(code_rows, dtype=np.int8, out=out[1:])
    assert result.base is out or np.shares_memory(result, out)
    np.testing.assert_array_equal(out[1:], encode(["ACGTN", "ttgca"], warn=False))
    assert (out[0] == 7).all()  # nothing outside the slice touched
    with pytest.raises(InputError, match="out"):
        onehot_from_codes(code_rows, dtype=np.float32, out=out[1:])  # dtype differs
    with pytest.raises(InputError, match="out"):
        onehot_from_codes(code_rows, dtype=np.int8, out=out)  # shape differs
    with pytest.raises(InputError, match="out"):
        onehot_from_codes(code_rows, dtype=np.int8, out=out[1:, :, ::-1])  # not contiguous


@pytest.mark.parametrize("numba_path", [False, True])
def test_codes_are_writeable_and_equal_a_lookup_for_every_byte(monkeypatch, numba_path):
    from seqsal.sequence import onehot

    if numba_path:
        monkeypatch.setattr(onehot, "_NUMBA_MIN_BYTES", 1)
    every_byte = bytes(range(256))
    expected = np.full(256, 4, dtype=np.uint8)
    for k, base in enumerate("ACGT"):
        expected[ord(base)] = expected[ord(base.lower())] = k
    result = codes(every_byte)
    np.testing.assert_array_equal(result, expected)
    result[0] = 0  # a fresh array the caller may change
    np.testing.assert_array_equal(
        codes(every_byte.decode("latin-1")), expected[:128].tolist() + [4] * 128
    )
    np.testing.assert_array_equal(codes(memoryview(every_byte)), expected)
    X = encode(every_byte, warn=False)
    np.testing.assert_array_equal(X, onehot_from_codes(expected))


def test_small_inputs_never_import_numba():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from seqsal.sequence.onehot import codes, encode, onehot_from_codes\n"
        "encode(['ACGTN' * 20] * 10, dtype='int8'); onehot_from_codes(codes('ACGT' * 100))\n"
        "print('numba' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
