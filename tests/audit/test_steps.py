"""A gallery step's reads against a fake Compute client (no network): pages that stop at their reserved reads
and resume where they stopped, every version read once, empty images and versions deleted meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.audit.decide import start
from core.audit.scope import AuditConfig
from core.audit.state import AuditState
from core.audit.steps import Reads, _read_page
from tests.audit.world import RG, SUB, des_id

GALLERY = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/big"
WEST, EAST = des_id("des-west"), des_id("des-east")


class Pager(list):
    def by_page(self) -> Any:
        return iter([self])


class FakeCompute:
    """Images (name -> version names) of one gallery; every call counted in `calls`."""

    def __init__(self, images: dict[str, list[str]], deleted: frozenset[str] = frozenset()) -> None:
        self.images, self.deleted, self.calls = images, deleted, []
        self.gallery_images = SimpleNamespace(list_by_gallery=self._images)
        self.gallery_image_versions = SimpleNamespace(list_by_gallery_image=self._versions, get=self._version)
        self.disk_encryption_sets = SimpleNamespace(get=self._des)

    def _images(self, rg: str, gallery: str) -> Pager:
        self.calls.append("images")
        return Pager(SimpleNamespace(name=name) for name in self.images)

    def _versions(self, rg: str, gallery: str, image: str) -> Pager:
        self.calls.append(f"list {image}")
        return Pager(SimpleNamespace(name=name) for name in self.images[image])

    def _version(self, rg: str, gallery: str, image: str, version: str, *, expand: str) -> Any:
        self.calls.append(f"get {image}/{version}")
        if f"{image}/{version}" in self.deleted:
            raise ResourceNotFoundError("gone")
        body = {"id": f"{GALLERY}/images/{image}/versions/{version}", "properties": {"publishingProfile": {
            "targetRegions": [{"name": "westus", "encryption": {"osDiskImage": {"diskEncryptionSetId": WEST}}},
                              {"name": "eastus2", "encryption": {"osDiskImage": {"diskEncryptionSetId": EAST}}}]}}}
        return SimpleNamespace(as_dict=lambda: body)

    def _des(self, rg: str, name: str) -> Any:
        self.calls.append(f"des {name}")
        location = "westus" if name == "des-west" else "eastus2"
        return SimpleNamespace(as_dict=lambda: {"id": des_id(name), "location": location, "properties": {}})


def arm(compute: FakeCompute) -> Any:
    made = SimpleNamespace(compute=compute, subscription_id=SUB, settings=None)
    made.for_subscription = lambda subscription: made  # one subscription: the same clients
    return made


def pages(compute: FakeCompute, limit: int) -> list[tuple[list[str], int, dict | None]]:
    """Every page of the gallery: (versions read, reads made, where the next page starts)."""
    state: AuditState = start("audit-x", AuditConfig(galleries=(GALLERY,)), datetime.now(UTC), origin="test",
                              record_findings=False).state
    found = []
    while True:
        reads = Reads(limit=limit)
        read = _read_page(state.replace(page_reads=limit), arm(compute), reads)
        found.append(([v.rsplit("/images/", 1)[1].replace("/versions/", "/") for v in read.versions], reads.made,
                      read.cursor))
        if read.cursor is None:
            return found
        state = state.replace(cursor=read.cursor)


def test_a_large_gallery_is_read_in_pages_each_version_once():
    compute = FakeCompute({"b": [f"1.0.{n}" for n in range(12)], "a": ["2.0.0", "2.0.1"]})
    found = pages(compute, limit=8)
    read = [version for versions, _, _ in found for version in versions]
    assert sorted(read) == sorted([f"a/{v}" for v in ("2.0.0", "2.0.1")] + [f"b/1.0.{n}" for n in range(12)])
    assert len(read) == len(set(read)) and len(found) >= 3
    assert all(made <= 8 + 2 for _, made, _ in found)  # a page's reads, and one version's two sets
    assert sum(call.startswith("get ") for call in compute.calls) == 14  # never a version twice
    assert found[0][2] is not None and found[-1][2] is None


def test_empty_images_and_versions_deleted_meanwhile_do_not_stop_the_pages():
    compute = FakeCompute({f"empty{n}": [] for n in range(10)} | {"z": ["1.0.0", "1.0.1"]},
                          deleted=frozenset({"z/1.0.0"}))
    found = pages(compute, limit=4)
    assert [version for versions, _, _ in found for version in versions] == ["z/1.0.1"]
    assert all(made <= 4 + 2 for _, made, _ in found)


def test_disk_encryption_sets_are_read_once_per_page():
    compute = FakeCompute({"a": ["1.0.0", "1.0.1", "1.0.2"]})
    [(versions, made, cursor)] = pages(compute, limit=20)
    assert len(versions) == 3 and cursor is None
    assert sorted(call for call in compute.calls if call.startswith("des ")) == ["des des-east", "des des-west"]
    assert made == 1 + 1 + 3 + 2
