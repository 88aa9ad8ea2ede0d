"""Wiring: settings (config.yaml), the settings → runtime factory, the scheduler and the simulator.

The only room that may import every other room of the engine (and :mod:`duban.notifiers`).
"""
