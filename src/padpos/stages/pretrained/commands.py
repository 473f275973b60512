"""Commands of the pretrained-model stage: ``pretrained-fetch`` (the one step that may
download), ``pretrained-images``, the probes ``pretrained-posenet``, ``pretrained-posenet-alone``,
``pretrained-ppp``, ``pretrained-location`` (offline: they read the caches only), and the figures."""

from __future__ import annotations

import argparse
import os

from padpos.cli import add_figure_arguments, json_arg


def _offline() -> None:
    # compute jobs never download: a Hugging Face hub call fails at once instead (read by
    # huggingface_hub when first imported, so set before any import of timm)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def configure_pretrained_fetch(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a pretrained.models entry, e.g. torchvision:vgg16:IMAGENET1K_V1")
    p.add_argument("--output", required=True, help="the fetch record (JSON: cached file, sha256, provenance)")


def run_pretrained_fetch(args: argparse.Namespace) -> None:
    from padpos.stages.pretrained.weights import write_record

    try:
        write_record(args.model, args.output)
    except ValueError as err:
        raise SystemExit(str(err)) from err


def configure_pretrained_photos(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a pretrained.models entry")
    p.add_argument("--weights", required=True, help="the model's fetch record (JSON)")
    p.add_argument("--output", required=True, help="the photo check (CSV; provenance JSON beside it)")


def run_pretrained_photos(args: argparse.Namespace) -> None:
    _offline()
    from padpos.stages.pretrained.photocheck import write_check

    try:
        write_check(args.model, args.weights, args.output)
    except ValueError as err:
        raise SystemExit(str(err)) from err


def configure_pretrained_images(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True, help="JSON: the pretrained.images settings")
    p.add_argument("--output", required=True, help="the image set (.pt; provenance JSON beside it)")


def run_pretrained_images(args: argparse.Namespace) -> None:
    from padpos.specs import with_defaults
    from padpos.stages.pretrained.catalog import DEFAULTS
    from padpos.stages.pretrained.images import write_images

    try:
        spec = with_defaults(args.spec, DEFAULTS["images"], "pretrained.images")
    except ValueError as err:
        raise SystemExit(str(err)) from err
    write_images(spec, args.output)


def _configure_probe(p: argparse.ArgumentParser, weights: bool = True, extra: str | None = None) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: study, model, padding + the pretrained settings + posenet (readout settings)")  # fmt: skip
    if weights:
        p.add_argument("--weights", required=True, help="the model's fetch record (JSON)")
    p.add_argument("--images", required=True, help="the stage's image set (.pt)")
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    if extra:
        p.add_argument(f"--{extra}", required=True, help=f"{extra} (.npz) for the figures")
    if weights:
        p.add_argument("--photos", help="the model's photo check (CSV): a failed check flags every row failed")
    p.add_argument("--threads", type=int, default=1)


def _run_probe(probe: str, args: argparse.Namespace, extra: str | None = None) -> None:
    _offline()
    import torch

    from padpos.stages.pretrained.probes import run_probe

    torch.set_num_threads(args.threads)
    try:
        run_probe(probe, args.spec, args.weights, args.images, args.output, getattr(args, extra) if extra else None,
                  args.photos)  # fmt: skip
    except ValueError as err:
        raise SystemExit(str(err)) from err


def configure_pretrained_posenet(p: argparse.ArgumentParser) -> None:
    _configure_probe(p, extra="predictions")


def run_pretrained_posenet(args: argparse.Namespace) -> None:
    _run_probe("posenet", args, "predictions")


def configure_pretrained_posenet_alone(p: argparse.ArgumentParser) -> None:
    _configure_probe(p, weights=False, extra="predictions")


def run_pretrained_posenet_alone(args: argparse.Namespace) -> None:
    import torch

    from padpos.stages.pretrained.probes import run_alone

    torch.set_num_threads(args.threads)
    try:
        run_alone(args.spec, args.images, args.output, args.predictions)
    except ValueError as err:
        raise SystemExit(str(err)) from err


def configure_pretrained_ppp(p: argparse.ArgumentParser) -> None:
    _configure_probe(p, extra="maps")


def run_pretrained_ppp(args: argparse.Namespace) -> None:
    _run_probe("ppp", args, "maps")


def configure_pretrained_location(p: argparse.ArgumentParser) -> None:
    _configure_probe(p)


def run_pretrained_location(args: argparse.Namespace) -> None:
    _run_probe("location", args)


# ---------------------------------------------------------------- figures
def configure_plot_pretrained_table1(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "the pretrained_posenet table (.csv)", many=False)


def run_plot_pretrained_table1(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.pretrained.figures import plot_table1

    save_figure(plot_table1(pd.read_csv(args.table), args.title), args.output)


def configure_plot_pretrained_posenet(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "the pretrained_posenet table (.csv)", many=False)


def run_plot_pretrained_posenet(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.pretrained.figures import plot_posenet

    save_figure(plot_posenet(pd.read_csv(args.table), args.title), args.output)


def configure_plot_pretrained_layers(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--posenet", "the pretrained_posenet table (.csv)", many=False)
    p.add_argument("--ppp", required=True, help="the pretrained_ppp table (.csv)")
    p.add_argument("--location", required=True, help="the pretrained_location table (.csv)")


def run_plot_pretrained_layers(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.pretrained.figures import plot_layers

    tables = {k: pd.read_csv(getattr(args, k)) for k in ("posenet", "ppp", "location")}
    save_figure(plot_layers(tables, args.title), args.output)


def configure_plot_pretrained_ppp_maps(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--maps", "per-run PPP heat maps (.npz), one per model x padding")


def run_plot_pretrained_ppp_maps(args: argparse.Namespace) -> None:
    from padpos.io import save_figure
    from padpos.stages.pretrained.figures import plot_ppp_maps, read_maps

    save_figure(plot_ppp_maps(read_maps(args.maps), args.title), args.output)
