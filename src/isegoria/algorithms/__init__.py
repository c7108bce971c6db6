"""Pure algorithms: merkle (RFC 9162), signed checkpoints, sortition, bridging,
agreement and disparity statistics, capacity. They import nothing else of isegoria.
"""

__all__ = [
    "agreement",
    "bridging",
    "bridging_data",
    "bridging_fit",
    "bridging_params",
    "capacity",
    "capacity_feasibility",
    "checkpoint",
    "disparity",
    "merkle",
    "sortition",
]
