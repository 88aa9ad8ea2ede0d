"""Declarative data: calendars, plans, units and rulesets.

This package holds no logic; it only tells where the shipped data lives so it
can be found both from a checkout and from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent
CALENDARS_DIR = RULES_DIR / "calendars"
PLANS_DIR = RULES_DIR / "plans"
UNITS_DIR = RULES_DIR / "units"
RULESETS_DIR = RULES_DIR / "rulesets"
