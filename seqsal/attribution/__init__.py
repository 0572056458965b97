"""seqsal.attribution: the shape-agnostic attribution core.

Every method explains any PyTorch model on any ``(n, ...)`` input (DNA one-hot ``(n, 4, L)``,
images ``(n, C, H, W)``) with one signature style::

    f(model, X, *, target=0, batch_size=None, device=None, progress=None, seed=None, ...)

and returns a float32 CPU tensor of ``X``'s shape, or ``(n_targets, n, ...)`` when ``target``
is a list.  Nothing here knows about DNA, files or plots (see ``docs/attribution.md``).
"""

from seqsal.attribution._targets import (
    REDUCTIONS,
    Target,
    Targets,
    describe_heads,
    output_heads,
    pick_head,
    resolve_targets,
    target_module,
)
from seqsal.attribution.baselines import resolve_baseline
from seqsal.attribution.cam import conv_layer_names, gradcam, gradcam_layer
from seqsal.attribution.deeplift import DeepShapResult, deepshap
from seqsal.attribution.gradients import grad_x_input, input_gradients, saliency
from seqsal.attribution.integrated import RULES, IGResult, integrated_gradients, integration_points
from seqsal.attribution.methods import METHODS, attribute
from seqsal.attribution.perturbation import (
    PerturbationResult,
    evaluate_perturbed,
    occlusion,
    occlusion_windows,
)
from seqsal.attribution.smoothgrad import KINDS, smoothgrad, smoothgrad_noise

__all__ = [
    "KINDS",
    "METHODS",
    "REDUCTIONS",
    "RULES",
    "DeepShapResult",
    "IGResult",
    "PerturbationResult",
    "Target",
    "Targets",
    "attribute",
    "conv_layer_names",
    "deepshap",
    "describe_heads",
    "evaluate_perturbed",
    "grad_x_input",
    "gradcam",
    "gradcam_layer",
    "input_gradients",
    "integrated_gradients",
    "integration_points",
    "occlusion",
    "occlusion_windows",
    "output_heads",
    "pick_head",
    "resolve_baseline",
    "resolve_targets",
    "saliency",
    "smoothgrad",
    "smoothgrad_noise",
    "target_module",
]
