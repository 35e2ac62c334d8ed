"""simcity: discrete-event simulation and optimisation of city operations."""

__version__ = "0.1.0"
