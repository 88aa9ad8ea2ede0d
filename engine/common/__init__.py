"""What every room shares: the strict YAML reader with its diagnostics, and small text helpers.

May import: :mod:`duban.errors` only.
"""
