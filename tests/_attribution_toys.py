"""Small seeded models and inputs shared by the attribution tests (not a test module)."""

from __future__ import annotations

import torch
from torch import nn


def conv_relu_linear(seed=0, n_targets=3, length=20):
    """Conv1d -> ReLU -> Conv1d -> ReLU -> Linear: a tiny DNA-like CNN, (n, 4, L) -> (n, T)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 5),
        nn.ReLU(),
        nn.Conv1d(6, 5, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(5 * (length - 6), n_targets),
    )


def smooth_cnn(seed=0, n_targets=2, length=20):
    """A smooth (Softplus / Tanh) CNN, so quadrature converges fast."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 5),
        nn.Softplus(),
        nn.Conv1d(6, 4, 3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * (length - 6), n_targets),
    )


def linear_model(seed=0, n_targets=2, length=20):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(4 * length, n_targets))


def image_cnn(seed=0, n_targets=2):
    """(n, 3, 14, 16) -> (n, T) with a strided 2-D conv."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 5, 3),
        nn.ReLU(),
        nn.Conv2d(5, 4, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 6, n_targets),
    )


def onehot(n=5, length=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float().contiguous()


def gaussian(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class SkipInput(nn.Module):
    """Uses the input twice (conv and a skip path): first-layer reuse must not apply."""

    def __init__(self, length=20):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.out = nn.Linear(4 * length, 2)

    def forward(self, x):
        return self.out(torch.relu(self.conv(x) + x).flatten(1))


class FailsAfter(nn.Module):
    """Wraps a model and raises on the ``calls``-th forward pass."""

    def __init__(self, model, calls):
        super().__init__()
        self.model, self.calls, self.seen = model, calls, 0

    def forward(self, x):
        self.seen += 1
        if self.seen >= self.calls:
            raise RuntimeError("boom")
        return self.model(x)


def pooled_cnn(seed=0, n_targets=2, length=23):
    """Conv -> ReLU -> MaxPool(3) -> Conv -> ReLU -> MaxPool(2): the pattern fast kernels patch.

    The length leaves a remainder at each pool, which the pool drops.
    """
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv1d(4, 6, 4),
        nn.ReLU(),
        nn.MaxPool1d(3),
        nn.Conv1d(6, 5, 2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(5 * 2, n_targets),
    )


class MotifDetector(nn.Module):
    """Exact occurrences of ``motif`` as the window reads it, plus a weak seeded linear term.

    A conv whose filter is the motif's one-hot, bias ``-(k - 0.5)`` and ReLU fires only on an
    exact match (one mismatch stays below zero); the outputs are summed over positions, so the
    gradient is the motif's one-hot at every site.  The linear term (weights ~ N(0, ``noise``)
    over ``(4, length)``) gives every position a small attribution, so shuffled controls are
    not all zero.  (n, 4, length) -> (n, 1).
    """

    def __init__(self, motif: str = "GATTACATGG", length: int = 60, noise: float = 0.02):
        super().__init__()
        k = len(motif)
        self.conv = nn.Conv1d(4, 1, k)
        self.linear = nn.Parameter(
            noise * torch.randn((4, length), generator=torch.Generator().manual_seed(0))
        )
        with torch.no_grad():
            self.conv.weight.zero_()
            for j, base in enumerate(motif):
                self.conv.weight[0, "ACGT".index(base), j] = 1.0
            self.conv.bias.fill_(-(k - 0.5))

    def forward(self, x):
        sites = torch.relu(self.conv(x)).sum(dim=-1)
        return sites + (x * self.linear).sum(dim=(1, 2))[:, None]
