"""benchmarks/read_images.py: its code path, run once on a few files."""

import json

import read_images


def test_the_image_reading_benchmark_reports_time_and_bytes_per_image(tmp_path, capsys):
    read_images.main(["--n-images", "30", "--size", "8", "--repeats", "2",
                        "--output-dir", str(tmp_path)])
    result = json.loads((tmp_path / "read_images_custom.json").read_text())
    assert result["n_images"] == 30 and result["image_shape"] == [8, 8, 3]
    assert result["bytes_per_image"] == 8 * 8 * 3 and len(result["seconds"]) == 2
    assert result["goal_seconds"] is None  # only the 10,000-file run has the goal
    assert "bytes per image in memory | 192" in (tmp_path / "read_images_custom.md").read_text()
    assert "median of 2 reads" in capsys.readouterr().out
