"""The demo brand's fulfillment network: providers, facilities, destinations and carriers."""

from __future__ import annotations

from dataclasses import dataclass

BRAND_TIMEZONE = "America/Chicago"


@dataclass(frozen=True, slots=True)
class Facility:
    """A 3PL warehouse: where it is, its clock and its daily order cutoff."""

    id: str
    provider_id: str
    timezone: str
    country: str
    subdivision: str
    cutoff: str
    location: str
    ups_account: str

    @property
    def cutoff_second(self) -> int:
        """The cutoff as seconds after local midnight."""
        hours, minutes = self.cutoff.split(":")
        return int(hours) * 3600 + int(minutes) * 60


FACILITIES: tuple[Facility, ...] = (
    Facility(
        "LAX1", "westcoast", "America/Los_Angeles", "US", "CA", "14:00", "Ontario, CA", "W4C7L1"
    ),
    Facility("EWR1", "eastbridge", "America/New_York", "US", "NJ", "12:00", "Edison, NJ", "E8B2N5"),
    Facility("DFW1", "eastbridge", "America/Chicago", "US", "TX", "15:00", "Irving, TX", "E8B2T9"),
)
PROVIDERS: tuple[str, ...] = ("westcoast", "eastbridge")


@dataclass(frozen=True, slots=True)
class Destination:
    """A ship-to area: postal prefix, city, local zone, routed facility and demand weight."""

    country: str
    postal_prefix: str
    city: str
    timezone: str
    facility_id: str
    weight: float


_NY = "America/New_York"
_CHI = "America/Chicago"
_LA = "America/Los_Angeles"
_DEN = "America/Denver"

# Routing by ship-to region: the US east of the Mississippi's big metros to EWR1, the central
# states to DFW1, the west (and all international parcels) to LAX1.
DESTINATIONS: tuple[Destination, ...] = (
    Destination("US", "021", "Boston, MA", _NY, "EWR1", 4.0),
    Destination("US", "100", "New York, NY", _NY, "EWR1", 7.0),
    Destination("US", "112", "Brooklyn, NY", _NY, "EWR1", 5.0),
    Destination("US", "070", "Newark, NJ", _NY, "EWR1", 2.0),
    Destination("US", "191", "Philadelphia, PA", _NY, "EWR1", 4.0),
    Destination("US", "152", "Pittsburgh, PA", _NY, "EWR1", 2.0),
    Destination("US", "200", "Washington, DC", _NY, "EWR1", 3.0),
    Destination("US", "212", "Baltimore, MD", _NY, "EWR1", 2.0),
    Destination("US", "282", "Charlotte, NC", _NY, "EWR1", 3.0),
    Destination("US", "303", "Atlanta, GA", _NY, "EWR1", 4.0),
    Destination("US", "331", "Miami, FL", _NY, "EWR1", 3.5),
    Destination("US", "328", "Orlando, FL", _NY, "EWR1", 2.0),
    Destination("US", "432", "Columbus, OH", _NY, "EWR1", 2.0),
    Destination("US", "482", "Detroit, MI", "America/Detroit", "EWR1", 2.0),
    Destination("US", "606", "Chicago, IL", _CHI, "DFW1", 6.0),
    Destination("US", "553", "Minneapolis, MN", _CHI, "DFW1", 3.0),
    Destination("US", "631", "St. Louis, MO", _CHI, "DFW1", 2.0),
    Destination("US", "641", "Kansas City, MO", _CHI, "DFW1", 2.0),
    Destination("US", "752", "Dallas, TX", _CHI, "DFW1", 4.0),
    Destination("US", "770", "Houston, TX", _CHI, "DFW1", 5.0),
    Destination("US", "787", "Austin, TX", _CHI, "DFW1", 3.0),
    Destination("US", "782", "San Antonio, TX", _CHI, "DFW1", 2.0),
    Destination("US", "372", "Nashville, TN", _CHI, "DFW1", 2.0),
    Destination("US", "462", "Indianapolis, IN", "America/Indiana/Indianapolis", "DFW1", 2.0),
    Destination("US", "900", "Los Angeles, CA", _LA, "LAX1", 7.0),
    Destination("US", "921", "San Diego, CA", _LA, "LAX1", 3.0),
    Destination("US", "941", "San Francisco, CA", _LA, "LAX1", 4.0),
    Destination("US", "951", "San Jose, CA", _LA, "LAX1", 2.0),
    Destination("US", "958", "Sacramento, CA", _LA, "LAX1", 2.0),
    Destination("US", "981", "Seattle, WA", _LA, "LAX1", 4.0),
    Destination("US", "972", "Portland, OR", _LA, "LAX1", 3.0),
    Destination("US", "850", "Phoenix, AZ", "America/Phoenix", "LAX1", 3.0),
    Destination("US", "891", "Las Vegas, NV", _LA, "LAX1", 2.0),
    Destination("US", "802", "Denver, CO", _DEN, "LAX1", 3.0),
    Destination("US", "841", "Salt Lake City, UT", _DEN, "LAX1", 1.5),
    Destination("US", "968", "Honolulu, HI", "Pacific/Honolulu", "LAX1", 0.5),
    Destination("CA", "M5V", "Toronto, ON", "America/Toronto", "LAX1", 1.0),
    Destination("CA", "V6B", "Vancouver, BC", "America/Vancouver", "LAX1", 0.8),
    Destination("GB", "SW1A", "London, GB", "Europe/London", "LAX1", 0.9),
    Destination("GB", "M1", "Manchester, GB", "Europe/London", "LAX1", 0.3),
)

CARRIERS: tuple[str, ...] = ("UPS", "FedEx", "USPS")

# service name per carrier and order service level
SERVICES: dict[str, dict[str, str]] = {
    "UPS": {
        "standard": "Ground",
        "expedited": "2nd Day Air",
        "overnight": "Next Day Air",
        "international": "Worldwide Expedited",
    },
    "FedEx": {
        "standard": "Ground",
        "expedited": "2Day",
        "overnight": "Standard Overnight",
        "international": "International Economy",
    },
    "USPS": {
        "standard": "Ground Advantage",
        "expedited": "Priority Mail",
        "overnight": "Priority Mail Express",
        "international": "Priority Mail International",
    },
}

# where each carrier's parcels pass between origin and destination
HUBS: dict[str, tuple[tuple[str, str], ...]] = {
    "UPS": (("Louisville, KY", _NY), ("Hodgkins, IL", _CHI), ("Ontario, CA", _LA)),
    "FedEx": (("Memphis, TN", _CHI), ("Indianapolis, IN", "America/Indiana/Indianapolis")),
    "USPS": (("Chicago, IL", _CHI), ("Denver, CO", _DEN), ("Jersey City, NJ", _NY)),
}

PACKAGING: tuple[str, ...] = ("poly_mailer", "box_small", "box_medium")
SERVICE_LEVELS: tuple[str, ...] = ("standard", "expedited", "overnight")

# promised carrier business days after the ship due date, per service level
PROMISED_TRANSIT: dict[str, int] = {"standard": 5, "expedited": 2, "overnight": 1}
INTERNATIONAL_PROMISED_TRANSIT: dict[str, int] = {"standard": 8, "expedited": 4}


def all_zones() -> list[str]:
    """Every time zone the simulation writes timestamps in (brand, facilities, places)."""
    zones = [BRAND_TIMEZONE]
    names = [f.timezone for f in FACILITIES] + [d.timezone for d in DESTINATIONS]
    names += [tz for hubs in HUBS.values() for _, tz in hubs]
    for name in names:
        if name not in zones:
            zones.append(name)
    return zones
