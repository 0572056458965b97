"""Built-in architectures: a compact CNN and a BPNet-like dilated residual CNN for DNA, and a
small image CNN (:class:`ImageCNN`, zoo name ``"imagecnn"``, see the end of this module).

The DNA models below take one-hot ``(n, 4, L)``.

Every zoo model is split in two, ``model(X) == model.head(model.trunk(X))``:

* ``trunk``: a translation-equivariant stack of unpadded ("valid") convolutions, ReLU and, for
  the CNN, max pooling: ``(n, 4, L) -> (n, C, L')``.  Because nothing is padded, the trunk of a
  long stretch, sliced at ``offset // trunk_stride``, equals the trunk of the window starting at
  ``offset`` whenever ``offset`` is a multiple of ``trunk_stride`` (genome scanning reuses it).
* ``head``: global pooling over positions, then dense layers, then a fixed affine output
  transform (``scale``, ``shift`` buffers, 1 and 0 until training folds the target
  standardization into them): ``(n, C, L') -> (n, T)``.

Classification models return logits (no sigmoid inside): apply ``torch.sigmoid`` for
probabilities.  Only plain layers (Conv1d, ReLU, MaxPool1d, Linear) are used, so gradients with
respect to the input are well defined for attribution, and there is no BatchNorm or Dropout, so
train and eval mode compute the same function.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import torch
from torch import nn

from seqsal._runtime import check_non_negative_int, check_positive_int, torch_seed
from seqsal.errors import InputError

log = logging.getLogger(__name__)

TASKS = ("regression", "classification")


def _first_conv_length(input_length: int, kernel_size: int) -> int:
    """Output length of the unpadded first convolution, or an InputError if it has none."""
    length = input_length - kernel_size + 1
    if length < 1:
        raise InputError(
            f"input_length={input_length} is shorter than the first convolution "
            f"(kernel_size={kernel_size}); use longer windows or a smaller kernel_size"
        )
    return length


class OutputTransform(nn.Module):
    """``y = x * scale + shift`` per target, with ``scale`` and ``shift`` stored as buffers.

    Training fits standardized regression targets and then writes the targets' standard
    deviation and mean here, so a saved model predicts in the original units.
    """

    def __init__(self, n_targets: int):
        super().__init__()
        self.register_buffer("scale", torch.ones(n_targets))
        self.register_buffer("shift", torch.zeros(n_targets))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


class GlobalPool(nn.Module):
    """Average and/or max over positions: ``(n, C, L') -> (n, C * k)``, k = number of modes.

    The average counts how many motif matches a sequence holds (additive grammar); the max
    says whether the best one is present.
    """

    def __init__(self, modes: tuple[str, ...] = ("mean", "max")):
        super().__init__()
        for mode in modes:
            if mode not in ("mean", "max"):
                raise InputError(f"pool mode {mode!r}; expected 'mean' or 'max'")
        self.modes = tuple(modes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = []
        for mode in self.modes:
            parts.append(x.mean(dim=-1) if mode == "mean" else x.amax(dim=-1))
        return torch.cat(parts, dim=1)


class ZooModel(nn.Module):
    """Base of zoo models: ``forward(X) = head(trunk(X))`` plus the facts callers need.

    Attributes
    ----------
    trunk : nn.Module
        ``(n, 4, L) -> (n, C, L')``, translation-equivariant (no padding).
    head : nn.Module
        ``(n, C, L') -> (n, T)``; accepts any ``L' >= 1`` (global pooling).
    input_length : int
        The window length L the model was built and trained for.
    n_targets : int
        Number of outputs T.
    task : str
        ``"regression"`` or ``"classification"`` (logits).
    trunk_stride : int
        Input bases per trunk output position (product of pooling sizes).
    """

    trunk: nn.Module
    head: nn.Module

    def __init__(self, *, input_length: int, n_targets: int, task: str):
        super().__init__()
        self.input_length = check_positive_int(input_length, "input_length")
        self.n_targets = check_positive_int(n_targets, "n_targets")
        if task not in TASKS:
            raise InputError(f"task={task!r}; expected one of {', '.join(TASKS)}")
        self.task = task
        self.trunk_stride = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))

    def trunk_output_length(self, length: int) -> int:
        """Length L' of the trunk output for an input of ``length`` bases (0 if too short)."""
        with torch.no_grad():
            probe = torch.zeros(1, 4, length, device=_first_device(self))
            try:
                return int(self.trunk(probe).shape[-1])
            except RuntimeError:
                return 0


def _first_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


class CompactCNN(ZooModel):
    """A compact CNN: motif-scanning first layer, optional conv/pool blocks, dense head.

    Parameters
    ----------
    input_length : int
        Window length L.
    n_targets : int
        Number of outputs T.
    task : {"regression", "classification"}
        Classification outputs logits.
    filters : int, default 96
        Filters of the first convolution (motif detectors).
    kernel_size : int, default 19
        Width of the first convolution; 19 covers most transcription factor motifs with
        flanks.
    conv_filters : int, default 64
        Filters of each later convolution.
    conv_kernel : int, default 7
    n_blocks : int, default 0
        Later conv/pool blocks (each ``conv_filters`` x ``conv_kernel``, ReLU, max pool);
        dropped automatically (with a log message) when the input is too short for them.  The
        default is none: one motif-scanning layer fits an additive grammar, and more blocks
        overfit a few thousand regions (docs/models.md).  Add blocks for grammars that need
        motif combinations over distance, or use the dilated model.
    pool : int, default 4
        Max-pooling size (and stride) after the first conv and after each block.
    hidden : int, default 64
        Units of the dense hidden layer.
    pool_modes : tuple of str, default ("mean",)
        Global pooling over positions before the dense layers.  Mean pooling lets every
        site add to the output, as sites add to activity in an additive grammar, and its
        attributions cover repeated sites of one motif (max pooling passes gradient to one
        site per filter only).  Add "max" for presence/absence grammars.
    """

    def __init__(
        self,
        *,
        input_length: int,
        n_targets: int,
        task: str = "regression",
        filters: int = 96,
        kernel_size: int = 19,
        conv_filters: int = 64,
        conv_kernel: int = 7,
        n_blocks: int = 0,
        pool: int = 4,
        hidden: int = 64,
        pool_modes: tuple[str, ...] | list[str] = ("mean",),
    ):
        super().__init__(input_length=input_length, n_targets=n_targets, task=task)
        for name, value in [
            ("filters", filters),
            ("kernel_size", kernel_size),
            ("conv_filters", conv_filters),
            ("conv_kernel", conv_kernel),
            ("pool", pool),
            ("hidden", hidden),
        ]:
            check_positive_int(value, name)
        check_non_negative_int(n_blocks, "n_blocks")
        length = _first_conv_length(input_length, kernel_size)
        layers: list[nn.Module] = [nn.Conv1d(4, filters, kernel_size), nn.ReLU()]
        stride = 1
        if length // pool >= 1:
            layers.append(nn.MaxPool1d(pool))
            length //= pool
            stride *= pool
        channels = filters
        built = 0
        for _ in range(n_blocks):
            after = (length - conv_kernel + 1) // pool
            if after < 1:
                break
            layers += [
                nn.Conv1d(channels, conv_filters, conv_kernel),
                nn.ReLU(),
                nn.MaxPool1d(pool),
            ]
            channels = conv_filters
            length = after
            stride *= pool
            built += 1
        if built < n_blocks:
            log.info(
                "input_length=%d leaves room for %d of %d conv blocks",
                input_length,
                built,
                n_blocks,
            )
        self.trunk = nn.Sequential(*layers)
        self.trunk_stride = stride
        pool_layer = GlobalPool(tuple(pool_modes))
        self.head = nn.Sequential(
            pool_layer,
            nn.Linear(channels * len(pool_layer.modes), hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_targets),
            OutputTransform(n_targets),
        )


class DilatedResidualBlock(nn.Module):
    """``y = crop(x) + relu(conv_dilated(x))``: BPNet's residual block, unpadded.

    The convolution shrinks the sequence by ``dilation * (kernel_size - 1)``; the skip path is
    cropped by the same amount, half on each side, so the block stays translation-equivariant.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.act = nn.ReLU()
        self.shrink = dilation * (kernel_size - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.shrink // 2
        right = x.shape[-1] - (self.shrink - left)
        return x[..., left:right] + self.act(self.conv(x))


class DilatedCNN(ZooModel):
    """A BPNet-like dilated residual CNN: a wide first conv, then residual dilated convs.

    The receptive field doubles with each layer (dilations 2, 4, 8, ...), so a few layers see
    motif pairs and spacing across the window at little cost.  The head averages over positions
    and applies one linear layer, as BPNet's count head does.

    Parameters
    ----------
    input_length : int
        Window length L.
    n_targets : int
        Number of outputs T.
    task : {"regression", "classification"}
        Classification outputs logits.
    filters : int, default 64
        Channels throughout the trunk.
    kernel_size : int, default 21
        Width of the first convolution.
    n_layers : int, default 5
        Residual dilated layers, dilation ``2**i`` for i = 1..n_layers; layers that would not
        fit in ``input_length`` are dropped (with a log message).
    dilated_kernel : int, default 3
        Width of each dilated convolution.
    pool_modes : tuple of str, default ("mean",)
        Global pooling over positions before the linear layer.
    """

    def __init__(
        self,
        *,
        input_length: int,
        n_targets: int,
        task: str = "regression",
        filters: int = 64,
        kernel_size: int = 21,
        n_layers: int = 5,
        dilated_kernel: int = 3,
        pool_modes: tuple[str, ...] | list[str] = ("mean",),
    ):
        super().__init__(input_length=input_length, n_targets=n_targets, task=task)
        for name, value in [
            ("filters", filters),
            ("kernel_size", kernel_size),
            ("dilated_kernel", dilated_kernel),
        ]:
            check_positive_int(value, name)
        check_non_negative_int(n_layers, "n_layers")
        length = _first_conv_length(input_length, kernel_size)
        layers: list[nn.Module] = [nn.Conv1d(4, filters, kernel_size), nn.ReLU()]
        built = 0
        for i in range(1, n_layers + 1):
            shrink = 2**i * (dilated_kernel - 1)
            if length - shrink < 1:
                break
            layers.append(DilatedResidualBlock(filters, dilated_kernel, 2**i))
            length -= shrink
            built += 1
        if built < n_layers:
            log.info(
                "input_length=%d leaves room for %d of %d dilated layers",
                input_length,
                built,
                n_layers,
            )
        self.trunk = nn.Sequential(*layers)
        pool_layer = GlobalPool(tuple(pool_modes))
        self.head = nn.Sequential(
            pool_layer,
            nn.Linear(filters * len(pool_layer.modes), n_targets),
            OutputTransform(n_targets),
        )


class ImageCNN(nn.Module):
    """A small image classifier: conv blocks, global average pooling, one linear layer.

    ``features`` is an ``nn.Sequential`` with named layers ``conv1, relu1, pool1, conv2, relu2,
    pool2, ..., convK, reluK`` (no pool after the last block); ``head`` is ``pool`` (global
    average over H and W, so any image size works) then ``fc`` (linear, logits).  Grad-CAM's
    usual layer is the last convolution, ``"features.conv4"`` with the default four blocks
    (H/8 x W/8: 4 x 4 on 32 x 32 images); ``"features.conv3"`` (H/4 x W/4) gives finer maps
    (:func:`seqsal.attribution.conv_layer_names` lists them all).  Four blocks give a
    receptive field of 38 pixels, enough to see a whole 32 x 32 digit before the global
    pooling.  Convolutions are padded
    ("same", zero padding) so the maps keep the image's size up to pooling; pools are 2 x 2,
    ``ceil_mode=True``, so even a 1 x 1 image goes through.  Plain layers only (no BatchNorm,
    no Dropout): train and eval compute the same function and gradients are well defined.

    Parameters
    ----------
    n_targets : int
        Number of classes (outputs, logits).
    task : {"classification", "regression"}, default "classification"
    in_channels : int, default 1
        Image channels C: 1 for grey, 3 for RGB.
    channels : sequence of int, default (16, 32, 64, 64)
        Output channels of each conv block.  Convolution weights start from He (Kaiming)
        normal initialisation, biases from zero, as suits ReLU networks.
    kernel_size : int, default 3
        Odd convolution size.
    input_length : None
        Accepted (and must be None) so :func:`build` and the model loader can pass it; images
        have an input shape, not a length.

    Attributes
    ----------
    input_length : None
    n_targets, task, in_channels
    last_conv : str
        Dotted name of the last convolution, e.g. ``"features.conv4"``.
    """

    def __init__(
        self,
        *,
        n_targets: int,
        task: str = "classification",
        in_channels: int = 1,
        channels: tuple[int, ...] | list[int] = (16, 32, 64, 64),
        kernel_size: int = 3,
        input_length: None = None,
    ):
        super().__init__()
        if input_length is not None:
            raise InputError(
                f"input_length={input_length!r}; ImageCNN takes images (n, C, H, W) of any size, "
                "give input_length=None"
            )
        self.input_length = None
        self.n_targets = check_positive_int(n_targets, "n_targets")
        if task not in TASKS:
            raise InputError(f"task={task!r}; expected one of {', '.join(TASKS)}")
        self.task = task
        self.in_channels = check_positive_int(in_channels, "in_channels")
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise InputError(f"kernel_size={kernel_size}; must be odd (same padding)")
        if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__") or not channels:
            raise InputError(f"channels={channels!r}; expected a non-empty list of positive ints")
        channels = [check_positive_int(c, "channels") for c in channels]
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        previous = self.in_channels
        for i, width in enumerate(channels, start=1):
            conv = nn.Conv2d(previous, width, kernel_size, padding=kernel_size // 2)
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers[f"conv{i}"] = conv
            layers[f"relu{i}"] = nn.ReLU()
            if i < len(channels):
                layers[f"pool{i}"] = nn.MaxPool2d(2, ceil_mode=True)
            previous = width
        self.features = nn.Sequential(layers)
        self.head = nn.Sequential(
            OrderedDict(
                pool=nn.AdaptiveAvgPool2d(1),
                flatten=nn.Flatten(),
                fc=nn.Linear(previous, self.n_targets),
            )
        )
        self.last_conv = f"features.conv{len(channels)}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and (x.ndim != 4 or x.shape[1] != self.in_channels):
            raise InputError(
                f"ImageCNN got input of shape {tuple(x.shape)}; expected (n, {self.in_channels}, H, W)"
            )
        return self.head(self.features(x))


#: Zoo names -> classes.  "cnn" and "dilated" take DNA ``(n, 4, L)``; "imagecnn" takes images.
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "cnn": CompactCNN,
    "dilated": DilatedCNN,
    "imagecnn": ImageCNN,
}
#: The zoo names that take DNA one-hot input (what DNA training accepts).
SEQUENCE_ARCHITECTURES = ("cnn", "dilated")
#: The zoo names that take images ``(n, C, H, W)``.
IMAGE_ARCHITECTURES = ("imagecnn",)


def default_kwargs(name: str) -> dict:
    """The architecture options of zoo model ``name`` and their defaults (JSON-ready).

    ``input_length``, ``n_targets`` and ``task`` are left out: the model format records
    them on their own.
    """
    import inspect

    if name not in ARCHITECTURES:
        raise InputError(f"arch={name!r}; expected one of {', '.join(sorted(ARCHITECTURES))}")
    shape = {"self", "input_length", "n_targets", "task"}
    out = {}
    for param in inspect.signature(ARCHITECTURES[name].__init__).parameters.values():
        if param.name in shape or param.default is inspect.Parameter.empty:
            continue
        value = param.default
        out[param.name] = list(value) if isinstance(value, tuple) else value
    return out


def build(
    name: str,
    *,
    input_length: int | None = None,
    n_targets: int,
    task: str = "regression",
    seed: int | None = 0,
    **kwargs,
) -> nn.Module:
    """Build a zoo model by name, with deterministic initial weights.

    Parameters
    ----------
    name : {"cnn", "dilated", "imagecnn"}
        ``"cnn"``: :class:`CompactCNN`; ``"dilated"``: :class:`DilatedCNN` (BPNet-like);
        ``"imagecnn"``: :class:`ImageCNN` (images; give ``in_channels``, leave
        ``input_length`` None, and pass ``task="classification"`` for logits of classes).
    input_length : int
        Window length L; input is ``(n, 4, L)``.  Required for the DNA models, None for
        ``"imagecnn"``.
    n_targets : int
        Number of outputs T; output is ``(n, T)``.
    task : {"regression", "classification"}, default "regression"
        Classification models return logits.
    seed : int or None, default 0
        Seed of the initial weights (the caller's random state is left as it was); None draws
        from torch's global generator.
    **kwargs
        Architecture options (see each class), e.g. ``filters=128``.

    Returns
    -------
    nn.Module
        A :class:`ZooModel` (DNA) or :class:`ImageCNN`, in eval mode, on the CPU.
    """
    if name not in ARCHITECTURES:
        raise InputError(f"arch={name!r}; expected one of {', '.join(sorted(ARCHITECTURES))}")
    cls = ARCHITECTURES[name]
    try:
        with torch_seed(seed):
            model = cls(input_length=input_length, n_targets=n_targets, task=task, **kwargs)
    except TypeError as err:
        raise InputError(f"arch {name!r} got an unknown option: {err}") from err
    return model.eval()
