"""ImageFolder training batches (padpos.data.augment): seeded random-resized crops and
flips for training, deterministic centre crops for evaluation, the same batches with any
number of DataLoader workers, and epochs that are a function of the run's generator."""

import pytest
import torch

from padpos.data import load_split, prepare_data, read_rgb
from padpos.data.augment import EpochSampler, TrainImages, seeded, train_transform
from padpos.stages.train.batches import _loader_batches
from tiny import DATA_SPEC, photo_tree

SIZE = 32


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = photo_tree(tmp_path_factory.mktemp("tree"), num_train=4, num_test=2)
    out = tmp_path_factory.mktemp("data")
    spec = {**DATA_SPEC, "dataset": "imagefolder", "path": str(root), "image_size": SIZE,
            "num_train": None, "num_test": None}  # fmt: skip
    prepare_data(spec, out)
    return out / "manifest.json"


def epoch_seeds(sampler: EpochSampler) -> dict[int, int]:
    """Image index -> its augmentation seed, for one epoch of ``sampler``."""
    return dict(iter(sampler))


def test_two_epochs_see_different_crops_of_the_same_image(manifest):
    images = TrainImages(load_split(manifest, "train"), augment=True)
    sampler = EpochSampler(len(images), torch.Generator().manual_seed(0))
    first, second = epoch_seeds(sampler), epoch_seeds(sampler)
    for i in range(len(images)):
        a, b = images[(i, first[i])][0], images[(i, second[i])][0]
        assert a.shape == b.shape == (3, SIZE, SIZE)
        assert not torch.equal(a, b), f"image {i}: the same crop in two epochs"
    # and the crops are not the evaluation image (the centre crop)
    centre = load_split(manifest, "train")[0][0]
    assert not torch.equal(images[(0, first[0])][0], centre)


def test_the_train_transform_is_seeded_and_leaves_the_callers_random_stream_alone(manifest):
    image, transform = read_rgb(load_split(manifest, "train").files[0]), train_transform(SIZE)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, b, c = seeded(transform, image, 7), seeded(transform, image, 7), seeded(transform, image, 8)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is where it was
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.uint8 and a.shape == (3, SIZE, SIZE)


def test_without_augment_training_items_are_the_centre_crops(manifest):
    split = load_split(manifest, "train")
    images = TrainImages(split, augment=False)
    for i in range(len(split)):
        x, y = images[(i, 12345)]
        assert torch.equal(x, split[i][0]) and y == split.targets[i]


def test_evaluation_is_deterministic(manifest):
    split = load_split(manifest, "test")
    assert torch.equal(split[0][0], split[0][0])
    spec = {"num_workers": 0, "batch_size": 4, "augment": True, "seed": 0}
    _, test, _ = _loader_batches(manifest, spec, "cpu", torch.Generator().manual_seed(0), 0, 0, 1)
    first, again = [x for x, _ in test], [x for x, _ in test]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert torch.equal(torch.cat(first), torch.stack([split[i][0] for i in range(len(split))]))


def test_an_epoch_is_a_function_of_the_generator_state_when_it_starts(manifest):
    """What resuming relies on: the state saved after epoch 1 gives epoch 2 again."""
    n = 12
    uninterrupted = EpochSampler(n, torch.Generator().manual_seed(5))
    epoch1, epoch2 = list(uninterrupted), list(uninterrupted)
    assert sorted(i for i, _ in epoch1) == list(range(n))  # a permutation, every image once
    assert epoch1 != epoch2
    state = torch.Generator().manual_seed(5)
    list(EpochSampler(n, state))
    resumed = torch.Generator()
    resumed.set_state(state.get_state())
    assert list(EpochSampler(n, resumed)) == epoch2


def test_loader_batches_do_not_depend_on_the_workers(manifest):
    """Two epochs of training batches: the same with 0 and with 2 (persistent) workers,
    and torch's global random stream is not drawn from."""
    spec = {"batch_size": 5, "augment": True, "seed": 0}
    epochs = {}
    for workers in (0, 2):
        train, _, classes = _loader_batches(manifest, {**spec, "num_workers": workers}, "cpu",
                                            torch.Generator().manual_seed(3), workers, 0, 1)  # fmt: skip
        assert classes == 3 and train.persistent_workers == (workers > 0)
        before = torch.get_rng_state()
        epochs[workers] = [[(x, y) for x, y in train] for _epoch in range(2)]
        assert torch.equal(torch.get_rng_state(), before)
    for (x0, y0), (x2, y2) in zip(sum(epochs[0], []), sum(epochs[2], [])):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)
    one, two = (torch.cat([x for x, _ in epoch]) for epoch in epochs[0])
    assert one.shape == (12, 3, SIZE, SIZE) and not torch.equal(one, two)
