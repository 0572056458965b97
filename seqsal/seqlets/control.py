"""Is a shuffled-control store a valid null for an attribution store?

The control null (:mod:`seqsal.seqlets.null`) is only right when the control's attributions
come from the same model, target, method and settings as the observed ones, differing only in
the sequences (dinucleotide shuffles of the windows).  A control from another model or method
shifts every p-value without any sign of it in the output, so the provenance that
``seqsal attribute`` records in each store is compared before calling.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from seqsal.errors import InputError

if TYPE_CHECKING:
    from seqsal.io.store import StoredAttributions

log = logging.getLogger(__name__)

#: Store attributes that change the attributions of a given sequence, and so the null.  The
#: window length is compared from the arrays themselves.  Not compared: the regions and FASTA
#: (a null may come from a sample of the windows), the seed, float16, file names and dates.
NULL_SETTINGS = (
    "model_checksum",
    "target",
    "target_index",
    "method",
    "hypothetical",
    "baseline",
    "steps",
    "rule",
    "correction",
    "rc_average",
    "n_samples",
    "noise",
    "output",
    "reduce",
    "positions",
)

#: Settings of :data:`NULL_SETTINGS` written only for a head target
#: (:data:`seqsal.dna.TARGET_ATTRS`): a store without them explains a plain target, so they
#: compare as "" (not chosen) rather than as unrecorded.
HEAD_SETTINGS = ("output", "reduce", "positions")

#: The ``control`` attribute of a store made with ``shuffle_control=True``, and of one without.
CONTROL = "dinucleotide_shuffle"
NO_CONTROL = "none"


def check_control_store(observed: StoredAttributions, control: StoredAttributions) -> list[str]:
    """Refuse a control store that is not a null for ``observed``; return what went unchecked.

    Parameters
    ----------
    observed, control : seqsal.io.store.StoredAttributions
        The attribution store seqlets are called on, and the store of its shuffled controls
        (``seqsal attribute --shuffle-control`` with the same options).

    Returns
    -------
    list of str
        One line per setting that could not be compared because a store does not record it
        (stores written by older seqsal versions or by other tools); each is also logged as a
        warning.  Such stores are used, not refused.

    Raises
    ------
    InputError
        One line naming the setting and both values with both files: the window length or a
        setting of :data:`NULL_SETTINGS` differs, the control store is not a shuffled control,
        or the observed store is one.
    """
    where = f"in the control store {control.path} but {{}} in the attribution store {observed.path}"
    if control.length != observed.length:
        raise InputError(
            f"windows are {control.length} bp " + where.format(f"{observed.length} bp") + "; "
            "a null must come from the same windows"
        )
    unchecked = []
    kinds = {"control store": control, "attribution store": observed}
    wanted = {"control store": CONTROL, "attribution store": NO_CONTROL}
    for label, store in kinds.items():
        value = store.attrs.get("control")
        if value is None:
            unchecked.append(f"the {label} {store.path} does not record whether it is a control")
        elif value != wanted[label]:
            made = "is" if value == CONTROL else "is not"
            raise InputError(
                f"the {label} {store.path} {made} a shuffled-control store (control = "
                f"{value!r}); expected the real windows as --store and their shuffled controls "
                "(seqsal attribute --shuffle-control) as --null"
            )
    recorded = [k for k in NULL_SETTINGS if k in observed.attrs or k in control.attrs]
    if not recorded:
        unchecked.append(
            f"neither {observed.path} nor {control.path} records its model and settings"
        )
    for key in recorded:
        if key in HEAD_SETTINGS:
            a, b = observed.attrs.get(key, ""), control.attrs.get(key, "")
        elif key not in observed.attrs or key not in control.attrs:
            missing = control if key in observed.attrs else observed
            unchecked.append(f"{missing.path} does not record {key}")
            continue
        else:
            a, b = observed.attrs[key], control.attrs[key]
        if a != b:
            raise InputError(
                f"{key} is {b!r} " + where.format(repr(a)) + "; a null must be made with the "
                "same model, target, method and settings (seqsal attribute --shuffle-control "
                "with the same options)"
            )
    for line in unchecked:
        log.warning("cannot check the null: %s", line)
    return unchecked


__all__ = ["CONTROL", "HEAD_SETTINGS", "NO_CONTROL", "NULL_SETTINGS", "check_control_store"]
