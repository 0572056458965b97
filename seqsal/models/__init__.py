"""Models: built-in architectures (zoo), the model folder format, loading, training, prediction.

``from seqsal.models import build, load_model, save_model, predict`` covers the usual calls
(training: :func:`seqsal.models.train.train`); each lives in its own module: ``zoo`` (architectures), ``files`` (the model folder and
TorchScript metadata, read and written), ``probe`` (running a model on zeros), ``load``
(loading and saving), ``ensemble`` (several models as one: fold ensembles), ``predict``,
``metrics``, ``train`` and ``images`` (image classifiers).
Submodules import one another, never this package's names, so importing any of them is free
of cycles.
"""

from seqsal.models.ensemble import Ensemble, load_ensemble
from seqsal.models.images import (
    digits_dataset,
    load_image_model,
    save_image_model,
    train_digits_demo,
)
from seqsal.models.load import LoadedModel, load_model, save_model, save_torchscript
from seqsal.models.predict import predict, predict_regions
from seqsal.models.zoo import build

__all__ = [
    "Ensemble",
    "LoadedModel",
    "build",
    "digits_dataset",
    "load_ensemble",
    "load_image_model",
    "load_model",
    "predict",
    "predict_regions",
    "save_image_model",
    "save_model",
    "save_torchscript",
    "train_digits_demo",
]
