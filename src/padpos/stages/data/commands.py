"""Commands of the data stage: ``download`` and ``prepare-data``."""

from __future__ import annotations

import argparse
import sys

from padpos.cli import json_arg


def configure_download(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", required=True, help="http(s):// or file:// URL")
    p.add_argument("--md5", required=True, help="expected md5 checksum of the file")
    p.add_argument("--output", required=True, help="where the verified file is placed")


def run_download(args: argparse.Namespace) -> None:
    from padpos.data import download

    download(args.url, args.md5, args.output)


def configure_prepare_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", required=True, type=json_arg, help="the study's data: config as JSON")
    p.add_argument(
        "--out-dir", required=True, help="directory for the cache files and manifest.json"
    )


def run_prepare_data(args: argparse.Namespace) -> None:
    import torch

    from padpos.data import SPLITS, prepare_data

    # the rule runs single-threaded; more threads only contend on small tensors
    torch.set_num_threads(1)
    manifest = prepare_data(args.spec, args.out_dir)
    sizes = ", ".join(f"{s} {manifest['splits'][s]['size']}" for s in SPLITS)
    print(
        f"prepared {manifest['dataset']}: {sizes} images, {manifest['num_classes']} classes",
        file=sys.stderr,
    )
