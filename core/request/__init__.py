"""The build request: its model, the parser of its three input shapes, and its mapping to the ARM body.

- ``model``         ``BuildRequest`` and its parts, ``Problem`` and ``RequestInvalid``
- ``parse``         ``parse_request``: CLI strings, REST objects, PowerShell hashtables -> one request
- ``reader``, ``fields``, ``targets``  the parser's reader, its scalar fields and source, its target regions
- ``dict_form``     the canonical v1 JSON of a request (the inverse of ``parse_request``)
- ``cli_strings``   the Azure CLI's ``--target-regions`` / ``--target-region-encryption`` grammar
- ``resource_ids``  resource ID parsing and name resolution;  ``regions``  region names
- ``encryption``    request -> SDK model -> the exact REST body (and back)
"""

from core.request.canonical import region_to_dict, request_to_dict
from core.request.model import (
    ENCRYPTION_TYPES,
    SCHEMA_VERSION,
    BuildRequest,
    DataDiskEncryption,
    DataDiskSource,
    ImageSource,
    Problem,
    RegionTarget,
    RequestInvalid,
    SecurityProfile,
    Verification,
    VerificationRegion,
)
from core.request.parse import parse_request

__all__ = ["ENCRYPTION_TYPES", "SCHEMA_VERSION", "BuildRequest", "DataDiskEncryption", "DataDiskSource",
           "ImageSource", "Problem", "RegionTarget", "RequestInvalid", "SecurityProfile", "Verification",
           "VerificationRegion", "parse_request", "region_to_dict", "request_to_dict"]
