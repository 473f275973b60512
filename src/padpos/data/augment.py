"""Training batches of an ImageFolder data set: random-resized crops and horizontal
flips (``torchvision.transforms.v2``), reproducible for a seed on the CPU.

Evaluation images are the shorter side resized to ``image_size`` and centre-cropped
(:func:`padpos.data.pixels.resize_crop`, the images every other stage sees). Training
images, when ``train.augment`` is on, are the ImageNet recipe's: a random crop of 8-100 %
of the source image's area with an aspect ratio of 3/4-4/3, resized to ``image_size``,
flipped horizontally with probability 1/2. (The in-memory data sets, synthetic and CIFAR,
are only flipped: a crop would move their image border.)

Seeding: :class:`EpochSampler` draws ONE 63-bit epoch seed from the run's generator
when an epoch starts; the epoch's shuffle order and one seed per image come from it.
Each image's crop and flip are drawn from torch's CPU generator seeded with that image's
seed, inside :func:`seeded` (which restores the generator afterwards). So

- an epoch's order, crops and flips are a function of the run's generator state when
  the epoch starts, and of nothing else: not of which DataLoader worker loads an image,
  of the number of workers, or of their own seeds (no ``worker_init_fn`` is needed);
- a resumed run is the uninterrupted run: the resume checkpoint saves the run's
  generator after every epoch, and nothing else draws from it on this path (the
  DataLoaders get a generator of their own for the worker seeds they draw);
- two epochs draw two epoch seeds, so they see different crops of the same image.

``torch`` and ``torchvision`` are imported inside functions, as everywhere in padpos.data.
"""

from __future__ import annotations

from padpos.data.pixels import normalise, read_rgb
from padpos.data.splits import ImageFolderSplit

SEED_HIGH = 2**63 - 1  # seeds are drawn from [0, 2**63 - 1): torch's int64 range


def train_transform(side: int):
    """Random-resized crop to ``side`` (area 8-100 %, aspect 3/4-4/3, bilinear,
    antialiased) and a random horizontal flip, on uint8 3 x H x W pixels."""
    from torchvision.transforms import v2

    return v2.Compose([v2.RandomResizedCrop(side, antialias=True), v2.RandomHorizontalFlip()])


def seeded(transform, image, seed: int):
    """``transform(image)`` with torch's CPU generator seeded with ``seed`` (the v2
    transforms draw from it); the generator's state is restored afterwards, so the
    caller's random stream (a model's dropout, say) is untouched."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(int(seed))
        return transform(image)


class EpochSampler:
    """DataLoader sampler of a training split of ``n`` images: each epoch a shuffled
    order, each image of it paired with its own augmentation seed, ``(index, seed)``.

    Both come from one epoch seed drawn from ``generator`` (the run's, saved in its resume
    checkpoint) when the epoch's iteration starts (module docstring)."""

    def __init__(self, n: int, generator):
        self.n, self.generator = n, generator

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        import torch

        epoch_seed = int(torch.randint(SEED_HIGH, (), generator=self.generator))
        epoch = torch.Generator().manual_seed(epoch_seed)
        order = torch.randperm(self.n, generator=epoch)
        seeds = torch.randint(SEED_HIGH, (self.n,), generator=epoch)
        return zip(order.tolist(), seeds.tolist())


class TrainImages:
    """The train split of an ImageFolder data set as training items: ``(index, seed)``
    (from :class:`EpochSampler`) -> (normalised float32 3 x side x side, label).

    With ``augment``, a seeded random-resized crop + flip of the source image
    (:func:`train_transform`); without, the split's centre crop (the seed is unused)."""

    def __init__(self, split: ImageFolderSplit, augment: bool):
        self.split, self.augment = split, augment
        self.transform = train_transform(split.image_size) if augment else None

    def __len__(self) -> int:
        return len(self.split)

    def uint8(self, i: int, seed: int):
        """Image ``i`` as uint8 pixels, augmented with ``seed`` when ``augment`` is on."""
        if not self.augment:
            return self.split.uint8(i)
        return seeded(self.transform, read_rgb(self.split.files[i]), seed)

    def __getitem__(self, item: tuple[int, int]):
        i, seed = item
        return normalise(self.uint8(i, seed), self.split.mean, self.split.std), self.split.targets[i]
