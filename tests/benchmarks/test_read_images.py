"""benchmarks/read_images.py: its code path, run once on a few files."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("read_images",
                                                  ROOT / "benchmarks" / "read_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_image_reading_benchmark_reports_time_and_bytes_per_image(tmp_path, capsys):
    load_script().main(["--n-images", "30", "--size", "8", "--repeats", "2",
                        "--output-dir", str(tmp_path)])
    result = json.loads((tmp_path / "read_images_custom.json").read_text())
    assert result["n_images"] == 30 and result["image_shape"] == [8, 8, 3]
    assert result["bytes_per_image"] == 8 * 8 * 3 and len(result["seconds"]) == 2
    assert result["goal_seconds"] is None  # only the 10,000-file run has the goal
    assert "bytes per image in memory | 192" in (tmp_path / "read_images_custom.md").read_text()
    assert "median of 2 reads" in capsys.readouterr().out
