"""Options shared by several subcommands, defined once so that the same option means the same
thing (name, type, default, help) everywhere.

``tests/test_cli_options.py`` walks every subcommand's parser and fails when one option name
carries two meanings; the few deliberate differences are listed there with the reason.

Value checks that argparse can make live here as ``type=`` functions (:func:`positive_int`,
:func:`seed`), so a bad value stops before any work with one line naming the option.
"""

from __future__ import annotations

import argparse
import sys

from seqsal.errors import InputError

# ----------------------------------------------------------------------------- parsing


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` report a command-line error in one line on stderr, exit status 2.

    argparse prints the whole usage block before the error; seqsal promises one line per
    error, so the line names the option, what came and what was expected, and points to
    ``--help`` for the usage.
    """

    def error(message: str):
        print(f"{parser.prog}: error: {message} (see {parser.prog} --help)", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1 (counts, lengths, sizes)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a positive integer")
    return value


def non_negative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a non-negative integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a non-negative integer")
    return value


def seed(text: str) -> int:
    """argparse ``type=``: a seed, an integer >= 0."""
    return non_negative_int(text)


# ----------------------------------------------------------------------------- inputs and outputs


def add_out_option(parser, *, metavar: str, help: str, required: bool = True) -> None:
    """--out: where the command writes (what it is differs by command; checked before work
    with :func:`seqsal.io.atomic.check_writable`)."""
    parser.add_argument("--out", required=required, metavar=metavar, help=help)


def add_fasta_option(parser, *, required: bool = True) -> None:
    """--fasta: the genome the regions or windows come from."""
    parser.add_argument(
        "--fasta",
        required=required,
        metavar="G",
        help="genome FASTA (indexed with pyfaidx; the .fai is built if missing)",
    )


def add_regions_option(parser, *, required: bool = True) -> None:
    """--regions: the BED file of regions a command works on."""
    parser.add_argument(
        "--regions",
        required=required,
        metavar="R",
        help="BED file of regions (BED3 to BED6+, optional header line, gzip ok)",
    )


def add_store_option(parser, *, required: bool = True) -> None:
    """--store: an attribution store written by ``seqsal attribute``."""
    parser.add_argument(
        "--store",
        required=required,
        metavar="H5",
        help="attribution store (.h5) written by seqsal attribute",
    )


def add_null_option(parser) -> None:
    """--null: the shuffled-control store seqlets are called against (``seqsal seqlets``,
    ``seqsal motifs``); checked with :func:`seqsal.seqlets.check_control_store`."""
    parser.add_argument(
        "--null",
        default=None,
        metavar="H5",
        help="attribution store of dinucleotide-shuffled controls (seqsal attribute "
        "--shuffle-control with the same model, target, method and settings: checked); "
        "without it a weaker Gaussian fallback null is used",
    )


def add_seqlet_length_options(parser) -> None:
    """--min-length, --max-length: shortest and longest seqlet core, in positions (4 and 20), the
    same for the reported seqlets (``seqsal seqlets``) and the discovery ones (``seqsal motifs``)."""
    parser.add_argument("--min-length", type=positive_int, default=4, help="shortest seqlet core")
    parser.add_argument("--max-length", type=positive_int, default=20, help="longest seqlet core")


# ----------------------------------------------------------------------------- models


def add_model_options(parser) -> None:
    """--model, --state-dict, --model-kwargs, --trust-pickle, --layout (see
    :func:`load_model_from_args`)."""
    parser.add_argument(
        "--model",
        required=True,
        nargs="+",
        action="extend",
        metavar="M",
        help="seqsal model folder, TorchScript file, or package.module:Class or "
        "path/to/file.py:Class with --state-dict; several (--model A B or --model A --model "
        "B) are a fold ensemble: the mean prediction and the mean of their attributions",
    )
    parser.add_argument(
        "--state-dict",
        default=None,
        nargs="+",
        action="extend",
        metavar="PT",
        help="weights for a package.module:Class or file.py:Class model (read with "
        "weights_only); for an ensemble, one per --model, in the same order",
    )
    parser.add_argument(
        "--model-kwargs",
        default=None,
        metavar="JSON",
        help="keyword arguments of a package.module:Class or file.py:Class model (JSON object "
        "or file)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a fully pickled model, which runs code from the file; only for "
        "files you trust",
    )
    parser.add_argument(
        "--layout",
        choices=["NCL", "NLC"],
        default=None,
        help="the model's input layout: NCL (n, 4, L) or NLC (n, L, 4), channels last as in "
        "Keras ports; outputs stay (n, 4, L) (default: the layout the model folder records, "
        "else NCL)",
    )


def load_model_from_args(args):
    """Load the model named by :func:`add_model_options`' options (a LoadedModel).

    A subcommand with ``--width`` passes it on as the input length of a model whose files do
    not record one (the model is checked at that length).  Several ``--model`` values load
    a :class:`seqsal.models.ensemble.Ensemble` (every model with the same options; one
    ``--state-dict`` per model when they are classes).
    """
    from seqsal.models.load import load_model

    width = getattr(args, "width", None)
    if width is not None and width < 1:
        raise InputError(f"--width {width}; must be a positive integer")
    models = model_specs(args)
    dicts = list(args.state_dict) if args.state_dict else None
    options = {
        "kwargs": args.model_kwargs,
        "trust_pickle": args.trust_pickle,
        "input_length": width,
        "layout": getattr(args, "layout", None),
    }
    if len(models) > 1:
        from seqsal.models.ensemble import load_ensemble

        if dicts is not None and len(dicts) != len(models):
            raise InputError(
                f"--state-dict got {len(dicts)} file(s) for {len(models)} --model values; "
                "give one state dict per model, in the same order"
            )
        return load_ensemble(models, state_dicts=dicts, **options)
    if dicts is not None and len(dicts) > 1:
        raise InputError(
            f"--state-dict got {len(dicts)} files for one --model; give one state dict per model"
        )
    return load_model(models[0], state_dict=None if dicts is None else dicts[0], **options)


def model_specs(args) -> list[str]:
    """The ``--model`` values, as a list (one or more)."""
    value = args.model
    return [value] if isinstance(value, str) else list(value)


def add_width_option(parser) -> None:
    """--width: the window length; by default the model's input length."""
    parser.add_argument(
        "--width",
        type=positive_int,
        default=None,
        metavar="W",
        help="window length in bases (default: the model's input length; required for a "
        "model that does not record it, such as a TorchScript file saved without seqsal)",
    )


def add_target_option(parser) -> None:
    """--target and the head options (:func:`add_head_options`): the scalar explained or scored."""
    parser.add_argument(
        "--target",
        default=None,
        metavar="T",
        help="model output to explain or score: an index (from 0) or a target name; with "
        "--output, a channel of that head (default: 0; with --reduce, every channel)",
    )
    add_head_options(parser)


def add_head_options(parser) -> None:
    """--output, --reduce, --positions: which head of a model with several outputs, and how a
    head with a position axis ``(n, C, L')`` becomes one value per region (see
    :class:`seqsal.attribution.Target`)."""
    from seqsal.attribution import REDUCTIONS

    parser.add_argument(
        "--output",
        default=None,
        metavar="HEAD",
        help="head of a model returning several outputs: an index of a tuple (from 0) or a "
        "key of a dict/namedtuple (default: the only one)",
    )
    parser.add_argument(
        "--reduce",
        choices=list(REDUCTIONS),
        default=None,
        help="for a head with a position axis (n, C, L'): sum or mean over positions, or "
        "profile (BPNet/ChromBPNet: mean-centred logits weighted by their detached softmax, "
        "summed)",
    )
    parser.add_argument(
        "--positions",
        type=positions,
        default=None,
        metavar="START:END",
        help="only these positions of the head (its own coordinates, half-open) enter --reduce",
    )


def positions(text: str) -> tuple[int, int]:
    """argparse ``type=``: ``START:END``, integers with 0 <= START < END."""
    start, sep, end = text.partition(":")
    try:
        value = (int(start), int(end))
    except ValueError:
        value = None
    if not sep or value is None or not 0 <= value[0] < value[1]:
        raise argparse.ArgumentTypeError(f"{text!r}; expected START:END with 0 <= START < END")
    return value


def parse_target(text: str):
    """``--target``'s value: an index when ``text`` is an integer, else a target name."""
    return int(text) if text.lstrip("-").isdigit() else text


def target_from_args(args, model=None):
    """The target named by :func:`add_target_option`'s options, for ``model`` (a LoadedModel).

    Without ``--output``, ``--reduce`` and ``--positions``: the output index of ``--target``
    (default 0; a name is looked up in the model's targets), exactly as before heads existed.
    With any of them: a :class:`seqsal.attribution.Target` (``--target`` is then a channel of
    the head, None when not given).
    """
    from seqsal.attribution import Target

    text = getattr(args, "target", None)
    output, reduce, span = (getattr(args, k, None) for k in ("output", "reduce", "positions"))
    single = model is None or getattr(model, "single_head", True)
    if output is None and reduce is None and span is None:
        value = parse_target("0" if text is None else text)
        return model.target_index(value) if model is not None and single else value
    channel = None if text is None else parse_target(text)
    if isinstance(channel, str) and model is not None and single:
        channel = model.target_index(channel)
    head = None if output is None else parse_target(output)
    return Target(output=head, channel=channel, reduce=reduce, positions=span)


def add_device_option(parser) -> None:
    """--device: where the model runs."""
    parser.add_argument(
        "--device",
        default=None,
        metavar="D",
        help="where the model runs: cpu, cuda or cuda:N (default: cpu)",
    )


def add_batch_size_option(parser) -> None:
    """--batch-size: rows per model call (never changes results).  ``args.batch_size`` is None
    when not given; commands then use the library's default (:func:`batch_size_or`)."""
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="B",
        help="rows per model call; bounds memory, does not change results (default: 256 for "
        "plain forward passes; for gradients, as many as fit the memory budget: 64 MiB on a "
        "CPU, 1 GiB on a GPU)",
    )


def batch_size_or(args, default: int) -> int:
    """``--batch-size``, or ``default`` (the library's) when it was not given."""
    return default if args.batch_size is None else args.batch_size


def add_chunk_size_option(parser, *, default: int) -> None:
    """--chunk-size: rows read, computed and written at a time (bounds memory; the default
    differs by command with the memory one row takes)."""
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=default,
        metavar="C",
        help="regions read, processed and written at a time; bounds memory, does not change "
        "the output",
    )


def add_seed_option(parser) -> None:
    """--seed: seeds every random step of the command."""
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="S",
        help="seed of every random step (shuffles, noise, sampling, initial weights); the "
        "same seed and inputs give the same outputs",
    )


def add_progress_option(parser) -> None:
    """--no-progress (``args.progress``: None = only on a terminal, False = never)."""
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=None,
        help="no progress bar (shown by default only on a terminal)",
    )


# ----------------------------------------------------------------------------- methods


def add_window_options(parser) -> None:
    """--out-of-bounds and --skip-missing: how regions become windows of one width."""
    parser.add_argument(
        "--out-of-bounds",
        choices=["pad", "drop", "error"],
        default="pad",
        help="windows past a chromosome end: pad with N, drop, or stop with an error",
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="drop regions on chromosomes not in the FASTA instead of stopping",
    )


def add_gradient_method_options(parser) -> None:
    """--steps, --n-samples, --noise: Integrated Gradients' and SmoothGrad's settings, the
    same for DNA (``seqsal attribute``) and images (``seqsal image``)."""
    parser.add_argument(
        "--steps",
        type=positive_int,
        default=32,
        metavar="K",
        help="ig: integration steps (quadrature points) per reference",
    )
    parser.add_argument(
        "--n-samples",
        type=positive_int,
        default=25,
        metavar="N",
        help="smoothgrad: noisy copies of each input",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.15,
        metavar="F",
        help="smoothgrad: noise standard deviation, as a fraction of each input's range "
        "(max - min)",
    )


def add_faithfulness_options(parser) -> None:
    """--eval-steps, --patch, --n-random: deletion / insertion curves (seqsal.evaluate), the
    same in ``seqsal evaluate`` (DNA stores) and ``seqsal image evaluate``.  ``--steps`` is
    Integrated Gradients' number of steps everywhere; curve segments are ``--eval-steps``."""
    parser.add_argument(
        "--eval-steps",
        type=int,
        default=50,
        metavar="K",
        help="segments of each deletion/insertion curve: features are removed (or inserted) "
        "in K equal steps, giving K + 1 points (at most one step per feature)",
    )
    parser.add_argument(
        "--patch",
        type=int,
        default=1,
        help="features removed together: runs of this many positions (DNA) or squares of this "
        "many pixels per side (images)",
    )
    parser.add_argument(
        "--n-random",
        type=int,
        default=3,
        help="random orderings each map's curves are compared with",
    )
