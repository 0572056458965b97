"""Device choice, batching, progress bars and model state, in one place.

Every compute step in seqsal goes through these helpers so that the same keyword means the same
thing everywhere: ``device`` ("cpu", "cuda", "cuda:1", a ``torch.device`` or None for the
model's own device), ``batch_size`` (examples per forward pass) and ``progress`` (True, False,
or None for "only when stderr is a terminal").  :func:`output_heads` says what the heads of a
model's output are (a tensor, or a tuple, list, dict or namedtuple of tensors), for the probe
(:mod:`seqsal.models.probe`) and the targets (:mod:`seqsal.attribution`) alike.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from seqsal.errors import InputError

log = logging.getLogger("seqsal")


def resolve_device(device=None, model=None):
    """Return a ``torch.device``: the one asked for, else the model's, else CPU."""
    import torch

    if device is not None:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise InputError(
                f"device={device!r} is not a device; expected 'cpu', 'cuda' or 'cuda:N'"
            ) from err
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(
                f"device={device!r} was asked for but CUDA is not available on this machine"
            )
        return dev
    if model is not None:
        for tensor in itertools.chain(model.parameters(), model.buffers()):
            return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def model_on(model, device=None, *, train: bool = False, requires_grad: bool = False):
    """Move ``model`` to ``device`` and set eval (or train) mode; restore both in ``finally``.

    Parameters are frozen (``requires_grad=False``) for the duration unless asked otherwise, so
    gradients flow to the input only.  Yields the device the model now lives on.
    """
    import torch

    dev = resolve_device(device, model)
    was_training = model.training
    params = list(model.parameters())
    original_device = params[0].device if params else torch.device("cpu")
    # Moving costs a pass over every tensor even when nothing moves: only move when needed.
    move = any(t.device != dev for t in itertools.chain(params, model.buffers()))
    grad_flags = [p.requires_grad for p in params]
    # Switching modes walks every module (and nn.Module.__setattr__ is slow): skip it when
    # every module is already in the wanted mode, as in repeated calls on an eval model.
    modes = [(m, m.training) for m in model.modules()]
    switch = any(mode != train for _, mode in modes)
    try:
        if move:
            model.to(dev)
        if switch:
            model.train(train)
        for p, flag in zip(params, grad_flags, strict=True):
            if flag != requires_grad:
                p.requires_grad_(requires_grad)
        yield dev
    finally:
        for p, flag in zip(params, grad_flags, strict=True):
            if flag != requires_grad:
                p.requires_grad_(flag)
        if switch:
            model.train(was_training)
            for module, mode in modes:  # a model can mix modes (a frozen batch norm in eval)
                if module.training != mode:
                    module.training = mode
        if move:
            model.to(original_device)


#: glibc's ``mallopt`` parameters (malloc.h) and the values :func:`keep_freed_memory` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 256 * 2**20, 32 * 2**20
_freed_memory_kept = False


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse; once per process; False where it cannot.

    Attribution allocates and frees tensors of a few MiB many times per batch.  By default
    glibc hands blocks above its (adaptive) mmap threshold back to the system, and trims the
    heap's free top, so the next tensor of that size is faulted in page by page again: measured
    on the zoo CNN, DeepSHAP spent a third of its time there.  Blocks up to 32 MiB now come from
    the heap, and up to 256 MiB of free heap top is kept (PyTorch's CPU performance guide
    suggests a caching allocator such as jemalloc for the same reason).  Process-wide; a no-op
    outside glibc.
    """
    global _freed_memory_kept
    if _freed_memory_kept:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        kept = bool(
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)
            and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
        )
    except (OSError, AttributeError):  # not glibc
        kept = False
    _freed_memory_kept = kept
    return kept


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


# Rows per shard below which splitting a model call costs more (thread hand-off, smaller
# kernels) than it saves.
MIN_SHARD_ROWS = 4

_POOL_LOCK = threading.Lock()
_pool = None  # (intra-op threads it was made for, ThreadPoolExecutor)
_in_worker = threading.local()
_shards = threading.local()  # .k shards per model call and .pool inside a sharding block


def _forget_pool():
    """In a forked child: the parent's workers do not exist there (a fresh pool is made)."""
    global _pool, _POOL_LOCK
    _pool, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _shard_pool(threads: int):
    """A pool of ``threads`` workers, each running torch with one intra-op thread."""
    global _pool
    from concurrent.futures import ThreadPoolExecutor

    import torch

    with _POOL_LOCK:
        if _pool is not None and _pool[0] == threads:
            return _pool[1]
        # A pool for another thread count is dropped, not shut down: a block running in
        # another thread may still hold it; its workers end once nothing refers to it.
        ready = threading.Barrier(threads + 1)

        def start():
            _in_worker.active = True
            # Read first: torch sets a thread's count from the process-wide default on the
            # thread's first use, which would undo a setting made before it.
            torch.get_num_threads()
            torch.set_num_threads(1)  # this thread's OpenMP and MKL count
            ready.wait()

        before = torch.get_num_threads()
        executor = ThreadPoolExecutor(threads, thread_name_prefix="seqsal-shard")
        for _ in range(threads):  # every worker started and set before anything runs
            executor.submit(start)
        ready.wait()
        # torch.set_num_threads also sets the process-wide default that new threads take:
        # give the caller's back, so only the pool's own workers run single-threaded.
        torch.set_num_threads(before)
        _pool = (threads, executor)
        return executor


def n_shards(rows: int, device) -> int:
    """How many concurrent shards a model call of ``rows`` rows on ``device`` can be split into.

    On a CPU, one per intra-op thread torch is set to use (``torch.get_num_threads()``,
    capped by the usable cores), each shard running single-threaded: for the small kernels of
    per-example attribution (a few channels, short sequences, small images) data parallelism
    over cores beats torch's intra-op parallelism, which splits each operator and waits at
    every one.  One shard (no split) on an accelerator, with one thread, or when the shards
    would have fewer than ``MIN_SHARD_ROWS`` rows.
    """
    import torch

    if getattr(device, "type", str(device)) != "cpu" or getattr(_in_worker, "active", False):
        return 1
    threads = min(torch.get_num_threads(), usable_cores())
    return max(1, min(threads, rows // MIN_SHARD_ROWS))


@contextlib.contextmanager
def sharding(rows: int, device):
    """Inside the block, :func:`map_shards` splits model calls of up to ``rows`` rows over
    the CPU's cores (see :func:`n_shards`); yields the number of shards (1: no split).

    The calling thread runs single-threaded inside the block and gets its thread count back
    in ``finally`` (torch's process-wide default, which threads started meanwhile take, is 1
    for that time too).  Otherwise its own OpenMP team, woken by any bookkeeping operation
    between model calls, keeps a core busy waiting for more work (libgomp spins for
    milliseconds), which is the core a shard needs.  A nested block (a method calling
    another) changes nothing.
    """
    import torch

    k = n_shards(rows, device)
    if k == 1 or getattr(_shards, "k", 1) > 1:
        yield getattr(_shards, "k", 1)
        return
    threads = torch.get_num_threads()
    _shards.pool = _shard_pool(min(threads, usable_cores()))
    _shards.k = k
    torch.set_num_threads(1)
    try:
        yield k
    finally:
        torch.set_num_threads(threads)
        _shards.k, _shards.pool = 1, None


def map_shards(fn: Callable, Z, *, dim: int = 0):
    """``fn(Z)``, computed as ``fn`` of contiguous row blocks of ``Z`` on the CPU's cores
    inside a :func:`sharding` block (one call outside it).

    ``fn`` maps a ``(m, ...)`` tensor to a tensor or a tuple of tensors whose axis ``dim``
    indexes the ``m`` rows; the blocks' results are concatenated along it, in order, so the
    result is what one call gives (each row's arithmetic does not depend on the other rows
    in its call).  The caller's grad mode holds in the workers.  ``fn`` must not keep state
    between calls that two threads could share (a forward hook writing one slot, a patched
    ``forward``).
    """
    from concurrent.futures import wait

    import torch

    k = min(getattr(_shards, "k", 1), Z.shape[0] // MIN_SHARD_ROWS)
    if k <= 1:
        return fn(Z)
    pool = _shards.pool
    grad_mode = torch.is_grad_enabled()

    def run(part):
        with torch.set_grad_enabled(grad_mode):
            return fn(part)

    futures = [pool.submit(run, part) for part in torch.tensor_split(Z, k)]
    wait(futures)  # all of them, so nothing still runs the model when an error propagates
    results = [f.result() for f in futures]
    if isinstance(results[0], tuple):
        return tuple(torch.cat(items, dim=dim) for items in zip(*results, strict=True))
    return torch.cat(results, dim=dim)


def batch_slices(n: int, batch_size: int) -> Iterator[slice]:
    """Yield ``slice`` objects covering ``range(n)`` in order, ``batch_size`` at a time."""
    check_positive_int(batch_size, "batch_size")
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as int, or raise an InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name}={value!r}; must be a positive integer")
    return int(value)


def check_non_negative_int(value, name: str) -> int:
    """Return ``value`` as int, or raise an InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name}={value!r}; must be a non-negative integer")
    return int(value)


def progress_enabled(progress) -> bool:
    """Resolve ``progress`` (True / False / None = only on a terminal) to a bool."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def progress_bar(
    iterable: Iterable | None = None, *, total=None, desc: str = "", unit: str = "it", progress=None
):
    """A tqdm progress bar on stderr, silent unless ``progress`` says otherwise.

    A silent bar is a no-op stand-in (iterates, updates and closes like tqdm), so calls that
    run many times pay nothing for it.
    """
    if not progress_enabled(progress):
        return _SilentBar(iterable, total)
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        leave=False,
    )


class _SilentBar:
    """What :func:`progress_bar` returns when the bar is off: tqdm's interface, doing nothing."""

    def __init__(self, iterable, total):
        self.iterable = iterable
        self.total = total
        self.n = 0

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def __len__(self):
        return len(self.iterable) if self.iterable is not None else int(self.total or 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        self.n += n

    def _nothing(self, *args, **kwargs):
        return None

    close = refresh = clear = set_postfix = set_postfix_str = set_description = _nothing
    set_description_str = reset = _nothing


def check_seed(seed, name: str = "seed", *, allow_none: bool = True) -> int | None:
    """Return ``seed`` as an int (or None), or raise an InputError naming ``name``.

    Every library function that takes a seed checks it here, so a seed means the same
    everywhere: a non-negative integer (numpy integers too, not bools or floats) or, where
    ``allow_none``, None for fresh entropy (not reproducible).
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        wanted = "a non-negative integer or None" if allow_none else "a non-negative integer"
        raise InputError(f"{name}={seed!r}; must be {wanted}")
    return int(seed)


def rng(seed) -> np.random.Generator:
    """A numpy Generator from ``seed`` (see :func:`check_seed`, or an existing Generator)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


@contextlib.contextmanager
def torch_seed(seed):
    """Seed torch's CPU (and CUDA) generators inside the block, restoring their state after.

    Library code never seeds globally for good: the caller's random state is unchanged after
    the block.
    """
    import torch

    seed = check_seed(seed)
    if seed is None:
        yield
        return
    cpu_state = torch.random.get_rng_state()
    py_state = random.getstate()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        torch.manual_seed(seed)
        random.seed(seed)
        yield
    finally:
        torch.random.set_rng_state(cpu_state)
        random.setstate(py_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


# ------------------------------------------------------------------------------------------
# model outputs with several heads (shared by seqsal.models and seqsal.attribution)


def output_heads(output: Any) -> list[tuple[int | str | None, Any]]:
    """The heads of a model output as ``[(key, tensor), ...]``, in output order.

    A tensor is one head with key None; a tuple or list gives keys 0, 1, ...; a dict its keys;
    a namedtuple its field names.  Anything else is an InputError naming its type.
    """
    import torch

    if isinstance(output, torch.Tensor):
        return [(None, output)]
    if isinstance(output, tuple) and hasattr(output, "_fields"):
        items: list[tuple[Any, Any]] = list(zip(output._fields, output, strict=True))
    elif isinstance(output, (tuple, list)):
        items = list(enumerate(output))
    elif isinstance(output, Mapping):
        items = [(str(key), value) for key, value in output.items()]
    else:
        raise InputError(
            f"the model returned a {type(output).__name__}; expected a tensor, or a tuple, "
            "list, dict or namedtuple of tensors"
        )
    if not items:
        raise InputError(f"the model returned an empty {type(output).__name__}; expected heads")
    for key, value in items:
        if not isinstance(value, torch.Tensor):
            raise InputError(
                f"head {key!r} of the model output is a {type(value).__name__}; expected a tensor"
            )
    return items


def describe_heads(output: Any) -> str:
    """``"0 (n, 2, 1000), 1 (n, 1)"``: every head with its shape, n for the example axis
    (a single tensor is named ``output``)."""
    return ", ".join(
        f"{'output' if key is None else key} {head_shape(value)}"
        for key, value in output_heads(output)
    )


def head_shape(value: Any) -> str:
    """A tensor's shape with n for the example axis: ``(n, 2, 1000)``, ``(n,)``."""
    dims = ["n", *(str(d) for d in tuple(value.shape)[1:])]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
