"""Translations at the edge: other frameworks' model files in, other formats out.

Never a second model representation: each reads into, or writes from, the same
``fastnn.Sequential``.  Each needs an optional extra and imports it lazily.
"""
