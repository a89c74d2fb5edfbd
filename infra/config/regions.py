"""Azure regions a stack may use, with the short codes that go into resource names."""

from __future__ import annotations

import difflib
from collections.abc import Collection

from .errors import shown

REGION_SHORT_CODES: dict[str, str] = {
    "australiaeast": "aue",
    "brazilsouth": "brs",
    "canadacentral": "cac",
    "canadaeast": "cae",
    "centralus": "cus",
    "eastus": "eus",
    "eastus2": "eus2",
    "francecentral": "frc",
    "germanywestcentral": "gwc",
    "italynorth": "itn",
    "japaneast": "jpe",
    "koreacentral": "krc",
    "northcentralus": "ncus",
    "northeurope": "neu",
    "norwayeast": "nwe",
    "polandcentral": "plc",
    "southafricanorth": "san",
    "southcentralus": "scus",
    "southeastasia": "sea",
    "southindia": "sin",
    "spaincentral": "spc",
    "swedencentral": "sdc",
    "switzerlandnorth": "szn",
    "uaenorth": "uaen",
    "uksouth": "uks",
    "westeurope": "weu",
    "westus": "wus",
    "westus3": "wus3",
}


def closest_region(name: str, regions: Collection[str] = REGION_SHORT_CODES) -> str | None:
    """The region of ``regions`` that ``name`` most likely means, or None: the name written in other case or
    with spaces (``SwedenCentral``, ``Sweden Central``, as the portal shows it), else a close spelling.

    Only a hint for a message: a region name is matched exactly everywhere (``location``, ``--region``)."""
    folded = "".join(name.split()).lower()
    if folded in regions:
        return folded
    close = difflib.get_close_matches(folded, sorted(regions), n=1, cutoff=0.8)
    return close[0] if close else None


def location_problem(location: str) -> str | None:
    """Why ``location`` is not a region a stack may use (a key of ``REGION_SHORT_CODES``, exactly), or None."""
    if location in REGION_SHORT_CODES:
        return None
    hint = closest_region(location)
    return (f"expected an Azure region name (e.g. swedencentral, westeurope, eastus2), found {shown(location)}"
            + (f" (did you mean {hint!r}?)" if hint else ""))
