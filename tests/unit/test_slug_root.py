"""The slug root travels in the target: a slug's BUILD_DIR (run as /app) is rewritten out
of what the install wrote; CNB layers keep their build paths at launch, so nothing is."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from buildpack.cnb.build import LayersTarget
from buildpack.cnb.layers import Layers
from buildpack.installers import slug_cleanup
from buildpack.slug.target import SlugTarget


def _installed(prefix: Path, names: str) -> Path:
    site = prefix / "lib/python3.13/site-packages"
    (site / "mypkg-1.dist-info").mkdir(parents=True)
    (site / "mypkg.pth").write_text(f"{names}/src\n")
    (site / "mypkg-1.dist-info/direct_url.json").write_text(
        json.dumps({"url": f"file://{names}", "dir_info": {"editable": True}}))
    return site


def test_each_target_says_its_slug_root(tmp_path: Path) -> None:
    assert SlugTarget(tmp_path / "build", tmp_path / "cache").slug_root == tmp_path / "build"
    assert LayersTarget(Layers(tmp_path / "layers" / "buildpack")).slug_root is None


def test_without_a_slug_root_the_launch_paths_are_kept(tmp_path: Path) -> None:
    """A CNB layer under <layers>/<buildpack>/python: the install's paths into the layers
    are the paths at launch (the old ``prefix.parent.parent`` rewrote them to /app)."""
    prefix = tmp_path / "layers" / "buildpack" / "python"
    names = str(tmp_path / "layers" / "buildpack" / "code")
    site = _installed(prefix, names)
    slug_cleanup.fix_build_paths(prefix, None, Path(sys.executable), {"PATH": "/usr/bin:/bin"})
    assert (site / "mypkg.pth").read_text() == f"{names}/src\n"
    assert json.loads((site / "mypkg-1.dist-info/direct_url.json").read_text())["url"] == f"file://{names}"


def test_with_a_slug_root_the_build_path_is_gone(tmp_path: Path) -> None:
    build = tmp_path / "build"
    site = _installed(build / ".heroku/python", str(build))
    slug_cleanup.fix_build_paths(build / ".heroku/python", build, Path(sys.executable), {"PATH": "/usr/bin:/bin"})
    assert str(build) not in (site / "mypkg.pth").read_text()
    assert json.loads((site / "mypkg-1.dist-info/direct_url.json").read_text())["url"] == "file:///app"
