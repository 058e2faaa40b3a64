"""sectorwatch: UK children's-services sector news, fetched, tagged and sent as a weekly digest."""

__version__ = "0.1.0"
