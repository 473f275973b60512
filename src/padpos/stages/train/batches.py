"""The training stage's mini-batches: in-memory tensors or ImageFolder loaders, seeded by
the run's one generator, each global batch split across the processes of a data-parallel
run, and resumable at any step of an epoch (``skip``)."""

from __future__ import annotations

import math

import torch


class TensorBatches:
    """Mini-batches of in-memory tensors; shuffling and flips come from one generator
    (on the CPU) so that a resumed run draws the same batches on any device.

    The tensors are kept on the training device when they fit (``on_device=None``:
    decided by :func:`fits_on_device`); otherwise they stay in (pinned) host memory
    and each batch is copied asynchronously. The shuffle order and the flips are
    moved to the device once per epoch: no host-device sync per batch.

    In a data-parallel run of ``world`` processes, every process draws the same order
    and flips and takes its share ``[rank::world]`` of each global batch of ``batch_size``.
    ``skip``: batches left out at the start of the next epoch (a run resumed mid-epoch);
    the epoch's draws are made all the same."""

    def __init__(
        self, X, y, batch_size, device, shuffle=False, augment=False, generator=None, on_device=None,
        rank=0, world=1,
    ):  # fmt: skip
        device = torch.device(device)
        if on_device is None:
            on_device = fits_on_device(X.element_size() * X.nelement(), device)
        home = device if on_device else torch.device("cpu")
        self.X, self.y = X.to(home), y.to(home)
        if home != device and device.type == "cuda":
            self.X, self.y = self.X.pin_memory(), self.y.pin_memory()
        self.device = device
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.generator = generator
        self.rank, self.world, self.skip = rank, world, 0

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        flips = torch.rand(n, generator=self.generator) < 0.5 if self.augment else None
        skip, self.skip = self.skip, 0
        home = self.X.device
        order = order.to(home)
        if flips is not None:
            flips = flips.to(home)
        for i in range(skip * self.batch_size, n, self.batch_size):
            idx = order[i : i + self.batch_size][self.rank :: self.world]
            x, y = self.X[idx], self.y[idx]
            if flips is not None:
                # horizontal flips only: crops/translations would move the image border
                x = torch.where(flips[idx][:, None, None, None], x.flip(-1), x)
            if home != self.device:
                x = x.to(self.device, non_blocking=True)
                y = y.to(self.device, non_blocking=True)
            yield x, y


class ShardedBatchSampler:
    """Batch sampler of a DataLoader: the global batches of ``batch_size`` items of
    ``sampler`` (as DataLoader's own batching makes them), this process's share
    ``[rank::world]`` of each, the first ``skip`` batches of the next epoch left out (their
    items drawn all the same)."""

    def __init__(self, sampler, batch_size: int, rank: int = 0, world: int = 1):
        self.sampler, self.batch_size = sampler, batch_size
        self.rank, self.world, self.skip = rank, world, 0

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self):
        skip, self.skip = self.skip, 0
        batch, done = [], 0
        for item in self.sampler:
            batch.append(item)
            if len(batch) == self.batch_size:
                if done >= skip:
                    yield batch[self.rank :: self.world]
                batch, done = [], done + 1
        if batch and done >= skip:
            yield batch[self.rank :: self.world]


def skip_batches(batches, count: int) -> None:
    """Leave out the first ``count`` batches of the next epoch of ``batches`` (a
    :class:`TensorBatches` or a DataLoader over a :class:`ShardedBatchSampler`)."""
    target = batches.batch_sampler if hasattr(batches, "batch_sampler") else batches
    target.skip = count


# data sets up to this fraction of the free GPU memory are kept on the GPU
DEVICE_DATA_FRACTION = 0.5


def fits_on_device(nbytes: int, device) -> bool:
    """True on the CPU; on a GPU, when ``nbytes`` is at most DEVICE_DATA_FRACTION of
    its free memory (the rest is for the model, activations and the optimizer)."""
    device = torch.device(device)
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_DATA_FRACTION * free


def load_training_data(manifest, spec: dict, device, generator, num_workers=0, rank=0, world=1):
    """Train and test batch iterators and the number of classes.

    Data sets held in memory (synthetic, CIFAR) give :class:`TensorBatches` (shuffling
    and flips only). ImageFolder data always goes through DataLoaders, whatever its
    size: with ``augment``, training reads random-resized crops and flips of the
    full source images, which no in-memory centre crop holds (padpos.data.augment).
    Both splits are sharded over the ``world`` processes of a data-parallel run."""
    from padpos import data

    if data.read_manifest(manifest).get("storage") == "index":
        return _loader_batches(manifest, spec, device, generator, num_workers, rank, world)
    Xtr, ytr = data.split_tensors(manifest, "train")
    Xte, yte = data.split_tensors(manifest, "test")
    train = TensorBatches(
        Xtr, ytr, spec["batch_size"], device, True, spec["augment"], generator=generator,
        rank=rank, world=world,
    )  # fmt: skip
    test = TensorBatches(Xte, yte, 512, device, rank=rank, world=world)
    return train, test, int(max(ytr.max(), yte.max()) + 1)


def _loader_batches(manifest, spec, device, generator, workers, rank, world):
    """DataLoaders of an ImageFolder data set: shuffled, seeded training items
    (padpos.data.augment.EpochSampler draws each epoch's order and crops from
    ``generator``) and the test split's centre crops, in order."""
    from torch.utils.data import DataLoader

    from padpos import data
    from padpos.data.augment import EpochSampler, TrainImages

    train_split, test_split = data.load_split(manifest, "train"), data.load_split(manifest, "test")
    kw = dict(
        num_workers=workers,
        persistent_workers=workers > 0,  # no worker start-up (and dataset copy) per epoch
        pin_memory=torch.device(device).type == "cuda",
        # the loaders draw their workers' base seeds from this generator, never from the
        # run's (a resumed run would draw them again) or torch's global one
        generator=torch.Generator().manual_seed(spec["seed"]),
    )
    sampler = EpochSampler(len(train_split), generator)
    train = DataLoader(
        TrainImages(train_split, spec["augment"]),
        batch_sampler=ShardedBatchSampler(sampler, spec["batch_size"], rank, world),
        **kw,
    )
    test = DataLoader(
        test_split, batch_sampler=ShardedBatchSampler(range(len(test_split)), 256, rank, world), **kw
    )
    return train, test, train_split.num_classes
