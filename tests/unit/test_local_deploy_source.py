"""What bin/local-deploy builds from source on a machine with no packable CPython."""
from __future__ import annotations

from buildpack.python_version import python_lifecycle
from buildpack.store_builder import cpython_sources
from buildpack.tools import local_deploy


def test_the_default_minor_is_tried_first_then_the_newest_others():
    assert local_deploy.source_minors("3.14", ["3.11", "3.13", "3.14", "3.15"]) == ["3.14", "3.15", "3.13", "3.11"]
    assert local_deploy.source_minors("3.12", ["3.11", "3.13"]) == ["3.13", "3.11"]


def test_a_bare_machine_starts_with_the_default_minor_of_the_vendored_data():
    pins = cpython_sources.load_pins()
    minors = local_deploy.default_source_minors(pins)
    assert sorted(minors) == sorted(cpython_sources.buildable_minors(pins))
    assert minors[0] == python_lifecycle.default_for_new_apps() == "3.14"
