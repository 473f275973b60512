"""The bench's default settings (torch-free: ``padpos bench --help`` shows them)."""

from padpos.names import SAME_SIZE_SCHEMES

DEFAULTS = {
    "arch": "small_resnet",
    "width": 12,
    "image_size": 32,
    "batch_size": 128,
    "steps": 2,
    "repeats": 15,
    "schemes": list(SAME_SIZE_SCHEMES),
    "threads": 1,
    "amp": True,
    "compile": False,
    "eval_images": 256,
    "seed": 0,
}
