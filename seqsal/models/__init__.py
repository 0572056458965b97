"""Models: built-in architectures (zoo), saving and loading, training and prediction.

``from seqsal.models import build, load_model, save_model, predict, train`` covers the usual
calls; each lives in its own module (``zoo``, ``load``, ``predict``, ``train``).
"""

from seqsal.models.load import LoadedModel, load_model, save_model, save_torchscript
from seqsal.models.predict import predict, predict_regions
from seqsal.models.zoo import build

__all__ = [
    "LoadedModel",
    "build",
    "load_model",
    "predict",
    "predict_regions",
    "save_model",
    "save_torchscript",
]
