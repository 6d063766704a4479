#!/usr/bin/python3
"""OpenCV peers of the depth-edge evaluation (docs/metrics.md section 1), driven by scripts/eval-depth.ts.

One process handles every scene and every setting. Usage:

    /usr/bin/python3 scripts/eval/depth_peers.py JOB.json

JOB.json:
    { "outDir": "...",
      "scenes":   [ { "id": "teddy", "width": W, "height": H,
                      "depth": "<file>",  # float32 little-endian W*H: raw depth, unknown filled from the nearest known
                      "conf": "<file>",   # uint8 W*H: 1 = known, 0 = filled
                      "rgb": "<file>" } ],# uint8 W*H*3: the guide image, RGB
      "settings": [ { "id": "fbs-0", "peer": "fbs" | "jbf" | "gf", "domain": "depth" | "inverse",
                      "params": { ... } } ] }

For every scene and setting, the filtered depth is written to outDir/<scene>__<setting>.f32 (float32 LE)
and one JSON line is printed on stdout: {"scene", "setting", "ms", "file"} or {"scene", "setting",
"error"}. `ms` times the filter alone (domain conversion included, file I/O excluded). OpenCV's own chatter
on stdout (the bilateral solver prints its iteration count) is sent to /dev/null so that stdout carries
only these lines.

domain "inverse" filters 1/D and returns 1/result; "depth" filters D directly.
Filters:
  fbs: cv2.ximgproc.fastBilateralSolverFilter(guide, src, confidence, sigma_spatial=, sigma_luma=,
       sigma_chroma=, lambda_=), confidence 1 on known pixels and 0 on filled ones (default 25 CG
       iterations, tolerance 1e-5).
  jbf: cv2.ximgproc.jointBilateralFilter(guide as float32 0..255, src, d, sigmaColor, sigmaSpace).
  gf:  cv2.ximgproc.guidedFilter(guide as float32 0..1, src, radius, eps).
"""
import json
import os
import sys
import time

import numpy as np
import cv2


def run_filter(peer, params, guide8, guidef255, guidef1, src, conf):
    if peer == "fbs":
        # Keyword arguments: the 4th positional parameter of the binding is `dst`.
        return cv2.ximgproc.fastBilateralSolverFilter(
            guide8, src, conf,
            sigma_spatial=float(params["sigmaSpatial"]), sigma_luma=float(params["sigmaLuma"]),
            sigma_chroma=float(params["sigmaChroma"]), lambda_=float(params["lambda"]))
    if peer == "jbf":
        return cv2.ximgproc.jointBilateralFilter(
            guidef255, src, d=int(params["d"]), sigmaColor=float(params["sigmaColor"]),
            sigmaSpace=float(params["sigmaSpace"]))
    if peer == "gf":
        return cv2.ximgproc.guidedFilter(guidef1, src, radius=int(params["radius"]), eps=float(params["eps"]))
    raise ValueError("unknown peer '%s'" % peer)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: depth_peers.py JOB.json\n")
        return 2
    with open(sys.argv[1], "r") as f:
        job = json.load(f)
    # Keep a private handle on the real stdout, then silence fd 1 for OpenCV's C++ prints.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    out_dir = job["outDir"]
    for scene in job["scenes"]:
        w, h = int(scene["width"]), int(scene["height"])
        depth = np.fromfile(scene["depth"], dtype="<f4").reshape(h, w)
        conf = np.fromfile(scene["conf"], dtype=np.uint8).reshape(h, w).astype(np.float32)
        guide8 = np.ascontiguousarray(np.fromfile(scene["rgb"], dtype=np.uint8).reshape(h, w, 3))
        guidef255 = guide8.astype(np.float32)
        guidef1 = guidef255 / 255.0
        for setting in job["settings"]:
            try:
                t0 = time.perf_counter()
                src = depth if setting["domain"] == "depth" else (1.0 / depth).astype(np.float32)
                out = run_filter(setting["peer"], setting["params"], guide8, guidef255, guidef1, src, conf)
                if setting["domain"] == "inverse":
                    with np.errstate(divide="ignore", invalid="ignore"):
                        out = (1.0 / out).astype(np.float32)
                ms = (time.perf_counter() - t0) * 1000.0
                path = os.path.join(out_dir, "%s__%s.f32" % (scene["id"], setting["id"]))
                np.ascontiguousarray(out, dtype="<f4").tofile(path)
                proto.write(json.dumps({"scene": scene["id"], "setting": setting["id"], "ms": ms, "file": path}) + "\n")
            except Exception as e:  # report and carry on with the next setting
                proto.write(json.dumps({"scene": scene["id"], "setting": setting["id"], "error": str(e)}) + "\n")
    proto.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
