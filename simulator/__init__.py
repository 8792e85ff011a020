"""A local HTTPS Azure Resource Manager for tests and demos: see ``simulator/README.md``."""

from .faults import Fault
from .http_types import RecordedRequest
from .simulator import Simulator
from .throttling import BucketSpec, ThrottleSpec
from .world_reader import WorldError

__all__ = ["BucketSpec", "Fault", "RecordedRequest", "Simulator", "ThrottleSpec", "WorldError"]
