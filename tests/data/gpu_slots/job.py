"""One GPU job of tests/data/gpu_slots/Snakefile: claim a slot, hold it a while, record it."""

import json
import os
import sys
import time

from padpos import runtime

job, output = int(sys.argv[1]), sys.argv[2]
runtime.select_device()
start = time.time()
time.sleep(1.5)
if job == 1:
    sys.exit("crashed on purpose, holding its GPU slot")
record = {"job": job, "slot": runtime.claimed_gpu_slots(), "visible": os.environ["CUDA_VISIBLE_DEVICES"],
          "start": start, "end": time.time()}  # fmt: skip
with open(output, "w") as fh:
    json.dump(record, fh)
