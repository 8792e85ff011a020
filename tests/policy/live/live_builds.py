"""Hypothesis strategies for build requests over ``live_world``: careful builds with a few mistakes, and
builds where anything goes.

A careful build picks a westus source, target regions that include westus, and for every region the
disk encryption sets located there, for the same disks. Each mistake then breaks one thing a person
gets wrong (a set from another region, a region without a disk's set, a LUN the source lacks, ...), so
the verdicts of single rules are compared, not only of piles of errors.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

from hypothesis import strategies as st

from core.request import BuildRequest, DataDiskEncryption, DataDiskSource, ImageSource, RegionTarget

from .live_world import ALL_DES, DES_BY_REGION, RG_A, SUB_A, WRONG_DES, A, B, des_a

REGIONS = ("westus", "West US", "eastus2", "eastus")
SNAPSHOTS = {name: f"{A}/snapshots/{name}" for name in ("os-westus", "data-westus-0", "data-westus-1", "data-eastus",
                                                         "missing")}
VERSION_SOURCE = f"{A}/galleries/private/images/sources/versions"
# Any source at all, right or wrong.
SOURCES = (
    ImageSource("managedImage", f"{A}/images/img-westus"),
    ImageSource("managedImage", f"{A}/images/img-eastus"),
    ImageSource("managedImage", f"{A}/images/img-cmk"),
    ImageSource("managedImage", f"{A}/images/img-missing"),
    ImageSource("managedImage", f"{B}/images/img-other"),
    ImageSource("managedImage", f"{B}/images/img-other-cmk"),
    ImageSource("virtualMachine", f"{A}/virtualMachines/vm-westus"),
    ImageSource("imageVersion", f"{VERSION_SOURCE}/0.1.0"),
    ImageSource("imageVersion", f"{VERSION_SOURCE}/0.2.0"),
)
# Sources a careful person picks for a westus build, with their data-disk LUNs.
CAREFUL_SOURCES = (
    (ImageSource("managedImage", f"{A}/images/img-westus"), (0, 1)),
    (ImageSource("managedImage", f"{A}/images/img-cmk"), (0,)),
    (ImageSource("virtualMachine", f"{A}/virtualMachines/vm-westus"), (0, 2)),
    (ImageSource("osSnapshot", SNAPSHOTS["os-westus"], (DataDiskSource(0, SNAPSHOTS["data-westus-0"]),
                                                        DataDiskSource(1, SNAPSHOTS["data-westus-1"]))), (0, 1)),
    (ImageSource("osSnapshot", SNAPSHOTS["os-westus"]), ()),
)
_versions = itertools.count(1)

Draw = st.DrawFn
Mistake = Callable[[Draw, BuildRequest], BuildRequest]


def normalized(region: str) -> str:
    return "".join(region.split()).lower()


def region_target(name: str, *, os: bool = False, luns: tuple[int, ...] = ()) -> RegionTarget:
    """A region encrypted with the first set located there, for the OS disk and ``luns``."""
    right = des_a(DES_BY_REGION[normalized(name)][0])
    return RegionTarget(name, 1, "Standard_LRS", right if os else None,
                        tuple(DataDiskEncryption(lun, right) for lun in luns))


def build(source: ImageSource, regions: tuple[RegionTarget, ...], *, version: str | None = None,
          location: str = "westus", gallery: str = "private") -> BuildRequest:
    return BuildRequest(subscription_id=SUB_A, resource_group=RG_A, gallery_name=gallery, image_definition="linux",
                        version=version or f"3.{next(_versions)}.0", location=location, source=source,
                        target_regions=regions)


def _with_region(request: BuildRequest, index: int, region: RegionTarget) -> BuildRequest:
    regions = list(request.target_regions)
    regions[index] = region
    return replace(request, target_regions=tuple(regions))


def _encrypted_regions(request: BuildRequest) -> list[int]:
    return [i for i, region in enumerate(request.target_regions) if region.encrypted]


def _replace_a_set(draw: Draw, request: BuildRequest, choices: tuple[str, ...]) -> BuildRequest:
    indexes = _encrypted_regions(request)
    if not indexes:
        return request
    index = draw(st.sampled_from(indexes))
    region = request.target_regions[index]
    wrong = draw(st.sampled_from(choices))
    if region.os_disk_encryption_set_id and (not region.data_disk_encryption or draw(st.booleans())):
        return _with_region(request, index, replace(region, os_disk_encryption_set_id=wrong))
    disks = list(region.data_disk_encryption)
    position = draw(st.integers(0, len(disks) - 1))
    disks[position] = replace(disks[position], disk_encryption_set_id=wrong)
    return _with_region(request, index, replace(region, data_disk_encryption=tuple(disks)))


def set_from_another_region(draw: Draw, request: BuildRequest) -> BuildRequest:
    everywhere = tuple(des_a(name) for names in DES_BY_REGION.values() for name in names)
    return _replace_a_set(draw, request, everywhere)


def missing_or_foreign_set(draw: Draw, request: BuildRequest) -> BuildRequest:
    return _replace_a_set(draw, request, WRONG_DES)


def region_without_a_disk(draw: Draw, request: BuildRequest) -> BuildRequest:
    indexes = _encrypted_regions(request)
    if not indexes:
        return request
    index = draw(st.sampled_from(indexes))
    region = request.target_regions[index]
    if region.os_disk_encryption_set_id and (not region.data_disk_encryption or draw(st.booleans())):
        return _with_region(request, index, replace(region, os_disk_encryption_set_id=None))
    return _with_region(request, index, replace(region, data_disk_encryption=region.data_disk_encryption[1:]))


def lun_not_in_source(draw: Draw, request: BuildRequest) -> BuildRequest:
    lun = draw(st.sampled_from((2, 5)))
    return replace(request, target_regions=tuple(
        replace(r, data_disk_encryption=(*r.data_disk_encryption, DataDiskEncryption(
            lun, des_a(DES_BY_REGION[normalized(r.name)][1 % len(DES_BY_REGION[normalized(r.name)])]))))
        for r in request.target_regions))


def lun_twice(draw: Draw, request: BuildRequest) -> BuildRequest:
    indexes = [i for i, r in enumerate(request.target_regions) if r.data_disk_encryption]
    if not indexes:
        return request
    region = request.target_regions[draw(st.sampled_from(indexes))]
    doubled = replace(region, data_disk_encryption=(*region.data_disk_encryption, region.data_disk_encryption[0]))
    return _with_region(request, request.target_regions.index(region), doubled)


def region_twice(draw: Draw, request: BuildRequest) -> BuildRequest:
    first = request.target_regions[0]
    spelled = "West US" if normalized(first.name) == "westus" else first.name.upper()
    return replace(request, target_regions=(*request.target_regions, replace(first, name=spelled)))


def home_not_a_target(draw: Draw, request: BuildRequest) -> BuildRequest:
    others = tuple(r for r in request.target_regions if normalized(r.name) != normalized(request.location))
    if not others:
        return replace(request, location=draw(st.sampled_from(("eastus", "eastus2"))))
    return replace(request, target_regions=others)


def _any_source(draw: Draw) -> ImageSource:
    """Any source, or snapshots from anywhere: maybe missing, elsewhere, encrypted abroad, or fine."""
    if draw(st.booleans()):
        return draw(st.sampled_from(SOURCES))
    snapshots = tuple(SNAPSHOTS.values())
    data = draw(st.lists(st.tuples(st.integers(0, 1), st.sampled_from(snapshots)), max_size=2))
    return ImageSource("osSnapshot", draw(st.sampled_from(snapshots)),
                       tuple(DataDiskSource(lun, snapshot) for lun, snapshot in data))


def another_source(draw: Draw, request: BuildRequest) -> BuildRequest:
    return replace(request, source=_any_source(draw))


def another_gallery(draw: Draw, request: BuildRequest) -> BuildRequest:
    return replace(request, gallery_name=draw(st.sampled_from(("direct", "community", "absent"))))


def another_definition(draw: Draw, request: BuildRequest) -> BuildRequest:
    return replace(request, image_definition="windows")


def bad_replicas_or_storage(draw: Draw, request: BuildRequest) -> BuildRequest:
    index = draw(st.integers(0, len(request.target_regions) - 1))
    region = request.target_regions[index]
    if draw(st.booleans()):
        return _with_region(request, index, replace(region, replica_count=draw(st.sampled_from((0, 101)))))
    return _with_region(request, index, replace(region, storage_account_type="Premium_ZRS"))


def bad_version_name(draw: Draw, request: BuildRequest) -> BuildRequest:
    return replace(request, version=request.version.rsplit(".", 1)[0])


MISTAKES: tuple[Mistake, ...] = (
    set_from_another_region, missing_or_foreign_set, region_without_a_disk, lun_not_in_source, lun_twice,
    region_twice, home_not_a_target, another_source, another_gallery, another_definition,
    bad_replicas_or_storage, bad_version_name,
)


@st.composite
def careful_builds(draw: Draw) -> BuildRequest:
    source, luns = draw(st.sampled_from(CAREFUL_SOURCES))
    names = ["westus", *draw(st.lists(st.sampled_from(("eastus2", "eastus")), max_size=2, unique=True))]
    encrypted_luns = tuple(draw(st.lists(st.sampled_from(luns), unique=True))) if luns else ()
    os_disk = draw(st.sampled_from((True, True, False)))
    return build(source, tuple(region_target(name, os=os_disk, luns=encrypted_luns) for name in names))


@st.composite
def builds_with_mistakes(draw: Draw) -> BuildRequest:
    """A careful build with (mostly) one mistake, sometimes none or two."""
    request = draw(careful_builds())
    for _ in range(draw(st.sampled_from((1, 1, 1, 0, 2)))):
        request = draw(st.sampled_from(MISTAKES))(draw, request)
    return request


@st.composite
def any_builds(draw: Draw) -> BuildRequest:
    """Regions, sets, LUNs, sources and galleries drawn independently of each other."""
    names = draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True))
    os_disk = draw(st.booleans())
    luns = draw(st.lists(st.integers(0, 2), max_size=2, unique=True))
    regions = []
    for name in names:
        regions.append(RegionTarget(
            name, draw(st.integers(1, 3)), "Standard_LRS",
            draw(st.sampled_from(ALL_DES)) if os_disk and draw(st.integers(0, 5)) else None,
            tuple(DataDiskEncryption(lun, draw(st.sampled_from(ALL_DES))) for lun in luns if draw(st.integers(0, 5)))))
    return build(_any_source(draw), tuple(regions), location=draw(st.sampled_from(("westus", "westus", "eastus"))),
                 gallery=draw(st.sampled_from(("private", "private", "direct", "community", "absent"))))
