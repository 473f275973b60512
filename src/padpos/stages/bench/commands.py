"""Command of the bench stage: ``bench`` (no rule uses it; run it by hand)."""

from __future__ import annotations

import argparse

from padpos.stages.bench.settings import DEFAULTS as _DEFAULTS  # torch-free: --help shows them


def configure_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--output", help="also write the JSON object to this file (atomically)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    p.add_argument("--arch", default=_DEFAULTS["arch"])
    p.add_argument("--width", type=int, default=_DEFAULTS["width"])
    p.add_argument("--image-size", type=int, default=_DEFAULTS["image_size"])
    p.add_argument("--batch-size", type=int, default=_DEFAULTS["batch_size"])
    p.add_argument("--steps", type=int, default=_DEFAULTS["steps"], help="training steps per timing")
    p.add_argument("--repeats", type=int, default=_DEFAULTS["repeats"])
    p.add_argument("--schemes", default=None,
                   help="comma-separated padding schemes (default: every same-size scheme)")  # fmt: skip
    p.add_argument("--threads", type=int, default=_DEFAULTS["threads"], help="CPU threads for torch")
    p.add_argument("--eval-images", type=int, default=_DEFAULTS["eval_images"])
    p.add_argument("--no-amp", dest="amp", action="store_false", help="no bf16 autocast on CUDA")
    p.add_argument("--compile", action="store_true", help="also time the torch.compile-d step")

def settings_from_args(args: argparse.Namespace) -> dict:
    settings = {
        "arch": args.arch,
        "width": args.width,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "repeats": args.repeats,
        "threads": args.threads,
        "amp": args.amp,
        "compile": args.compile,
        "eval_images": args.eval_images,
    }
    if args.schemes:
        settings["schemes"] = [s.strip() for s in args.schemes.split(",") if s.strip()]
    return settings


def run_bench(args: argparse.Namespace) -> None:
    import json

    from padpos.io import write_json
    from padpos.stages.bench.throughput import bench, format_result

    result = bench(args.device, **settings_from_args(args))
    if args.output:
        write_json(args.output, result)
    print(json.dumps(result, indent=1) if args.json else format_result(result))

