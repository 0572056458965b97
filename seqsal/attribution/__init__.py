"""seqsal.attribution: the shape-agnostic attribution core.

Every method explains any PyTorch model on any ``(n, ...)`` input (DNA one-hot ``(n, 4, L)``,
images ``(n, C, H, W)``) with one signature style::

    f(model, X, *, target=0, batch_size=None, device=None, progress=None, seed=None, ...)

and returns a float32 CPU tensor of ``X``'s shape, or ``(n_targets, n, ...)`` when ``target``
is a list.  Nothing here knows about DNA, files or plots (see ``docs/attribution.md``).
"""

from seqsal.attribution._targets import Targets, resolve_targets
from seqsal.attribution.baselines import resolve_baseline
from seqsal.attribution.gradients import grad_x_input, input_gradients, saliency
from seqsal.attribution.integrated import RULES, IGResult, integrated_gradients, integration_points

__all__ = [
    "RULES",
    "IGResult",
    "Targets",
    "grad_x_input",
    "input_gradients",
    "integrated_gradients",
    "integration_points",
    "resolve_baseline",
    "resolve_targets",
    "saliency",
]
