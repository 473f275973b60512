"""Throughput on this device (``padpos bench``; no rule runs it): the pipeline's training
step against a bare loop, every padding scheme against zeros, PPP and PosENet images/s."""
