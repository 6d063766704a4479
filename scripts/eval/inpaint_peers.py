#!/usr/bin/python3
"""OpenCV inpainting peers for scripts/eval-inpaint.ts and bench/inpaint.bench.ts.

Usage: /usr/bin/python3 scripts/eval/inpaint_peers.py

Serves jobs over stdin/stdout, one JSON object per line, so that one process (one interpreter and
OpenCV start-up) serves every photo while the caller can still interleave its own timings with ours.
First line written: {"cv2": "4.6.0", "threads": N}. Then, for each job line

  {"name": "photo", "image": "in.png", "hole": "hole.png", "radius": 5, "repeat": 3,
   "methods": ["telea", "ns"], "out": {"telea": "telea.png", "ns": "ns.png"}}

(`out` optional: omit it to time only; the hole PNG is 8-bit, non-zero = fill) it writes

  {"name": "photo", "telea": {"ms": median, "runs": [...], "cpuMs": median, "cpuRuns": [...]}, "ns": {...}}

or {"name": ..., "error": "..."}. Times cover the cv2.inpaint call only, never the file I/O: wall clock
(perf_counter) and this process's CPU time (process_time), medians over `repeat` runs. EOF ends it.
"""
import json
import statistics
import sys
import time

import cv2

FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def run_job(job: dict) -> dict:
    image = cv2.imread(job["image"], cv2.IMREAD_COLOR)
    if image is None:
        return {"name": job.get("name"), "error": f"cannot read image {job['image']}"}
    hole = cv2.imread(job["hole"], cv2.IMREAD_GRAYSCALE)
    if hole is None or hole.shape[:2] != image.shape[:2]:
        return {"name": job.get("name"), "error": f"cannot read hole {job['hole']} or its size differs"}
    hole = (hole != 0).astype("uint8") * 255
    radius = float(job.get("radius", 5))
    repeat = max(1, int(job.get("repeat", 1)))
    entry = {"name": job.get("name")}
    for method in job.get("methods", ["telea", "ns"]):
        runs = []
        cpu = []
        result = None
        for _ in range(repeat):
            c0 = time.process_time()
            t0 = time.perf_counter()
            result = cv2.inpaint(image, hole, radius, FLAGS[method])
            runs.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.process_time() - c0) * 1000.0)
        out = (job.get("out") or {}).get(method)
        if out:
            cv2.imwrite(out, result)
        entry[method] = {"ms": statistics.median(runs), "runs": runs,
                         "cpuMs": statistics.median(cpu), "cpuRuns": cpu}
    return entry


def main() -> None:
    print(json.dumps({"cv2": cv2.__version__, "threads": cv2.getNumThreads()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = run_job(json.loads(line))
        except Exception as e:  # report, keep serving
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
