"""Pure optimisation for city operations: vehicle routing and berth allocation.

This package never imports :mod:`simcity`; simulation models call into it.
"""
