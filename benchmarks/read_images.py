"""Time reading a folder of image files: 10,000 random 32x32 RGB PNGs by default.

Writes the files to a temporary folder (ten class folders), reads them with
ensemble.datasets.load_image_folder three times, and reports the median time,
the files per second and the bytes each image takes in memory. Results go to
benchmarks/results/read_images.{md,json}.

Usage::

    python benchmarks/read_images.py [--n-images 10000] [--size 32] [--channels 3]
        [--repeats 3] [--n-jobs N] [--output-dir benchmarks/results]
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ensemble.datasets import load_image_folder

N_CLASSES = 10
GOAL_SECONDS = 15.0  # for 10,000 files of 32x32x3 on 2 cores


def write_images(folder, n_images, size, channels, seed=0):
    """``n_images`` random PNG files, spread over ``N_CLASSES`` class folders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label in range(N_CLASSES):
        (folder / f"class_{label}").mkdir()
    for index in range(n_images):
        pixels = rng.integers(0, 256, size=(size, size, channels), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
        image.save(folder / f"class_{index % N_CLASSES}" / f"{index:06d}.png")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-images", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="reading threads (default: one per core)")
    parser.add_argument("--output-dir", type=Path,
                        default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        start = time.perf_counter()
        write_images(folder, args.n_images, args.size, args.channels)
        write_seconds = time.perf_counter() - start
        file_bytes = sum(path.stat().st_size for path in folder.rglob("*.png"))
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            data = load_image_folder(folder, n_jobs=args.n_jobs)
            seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    bytes_per_image = data.X.nbytes / len(data.X)
    result = {
        "n_images": args.n_images, "image_shape": list(data.image_shape),
        "threads": args.n_jobs or os.cpu_count(), "cpu_count": os.cpu_count(),
        "seconds": seconds, "median_seconds": median, "images_per_second": args.n_images / median,
        "bytes_per_image": bytes_per_image, "array_mib": data.X.nbytes / 2**20,
        "png_bytes_per_file": file_bytes / args.n_images, "write_seconds": write_seconds,
        "goal_seconds": GOAL_SECONDS if (args.n_images, args.size, args.channels) ==
        (10_000, 32, 3) else None,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    goal = result["goal_seconds"]
    verdict = "" if goal is None else (" (goal <= 15 s: met)" if median <= goal
                                       else " (goal <= 15 s: missed)")
    lines = [
        f"# Reading an image folder: {args.n_images:,} PNG files of "
        f"{args.size}x{args.size}x{args.channels}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| median of {args.repeats} reads | {median:.2f} s{verdict} |",
        f"| every read | {', '.join(f'{s:.2f} s' for s in seconds)} |",
        f"| images per second | {args.n_images / median:,.0f} |",
        f"| reading threads / CPU cores | {result['threads']} / {os.cpu_count()} |",
        f"| bytes per image in memory | {bytes_per_image:,.0f} (uint8 "
        f"{args.size}x{args.size}x{args.channels}) |",
        f"| whole array | {result['array_mib']:.1f} MiB |",
        f"| PNG bytes per file on disk | {result['png_bytes_per_file']:,.0f} |",
    ]
    text = "\n".join(lines)
    print(text)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    # Only the default run (the goal's configuration, threads included) is the recorded result.
    stem = "read_images" if goal is not None and args.n_jobs is None else "read_images_custom"
    (args.output_dir / f"{stem}.md").write_text(text + "\n")
    (args.output_dir / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
