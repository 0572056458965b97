"""Option groups shared by several subcommands, defined once so that the same option means
the same thing (name, default, help) everywhere."""

from __future__ import annotations


def add_model_options(parser) -> None:
    """--model, --state-dict, --model-kwargs, --trust-pickle (see :func:`load_model_from_args`)."""
    parser.add_argument(
        "--model",
        required=True,
        metavar="M",
        help="seqsal model folder, TorchScript file, or package.module:Class with --state-dict",
    )
    parser.add_argument(
        "--state-dict",
        default=None,
        metavar="PT",
        help="weights for a package.module:Class model (read with weights_only)",
    )
    parser.add_argument(
        "--model-kwargs",
        default=None,
        metavar="JSON",
        help="keyword arguments of a package.module:Class model (JSON object or file)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a fully pickled model, which runs code from the file; only for "
        "files you trust",
    )


def load_model_from_args(args):
    """Load the model named by :func:`add_model_options`' options (a LoadedModel).

    A subcommand with ``--width`` passes it on as the input length of a model whose files do
    not record one (the model is checked at that length).
    """
    from seqsal.errors import InputError
    from seqsal.models.load import load_model

    width = getattr(args, "width", None)
    if width is not None and width < 1:
        raise InputError(f"--width {width}; must be a positive integer")
    return load_model(
        args.model,
        state_dict=args.state_dict,
        kwargs=args.model_kwargs,
        trust_pickle=args.trust_pickle,
        input_length=width,
    )


def add_width_option(parser, help: str | None = None) -> None:
    """--width: the window length, for models whose files do not record their input length."""
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        metavar="W",
        help=help
        or "window length; if not given: the model's input length (required for a model that "
        "does not record it, such as a TorchScript file saved without seqsal)",
    )


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


def add_progress_option(parser) -> None:
    """--no-progress (``args.progress``: None = only on a terminal, False = never)."""
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=None,
        help="no progress bar (shown by default only on a terminal)",
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
