"""The embedded demo: offline data (:mod:`spinml_demo.data`) built from packages' bundled data.

Importing this package is cheap; ``from spinml_demo.data import build_demo_data`` loads the builder.
"""
