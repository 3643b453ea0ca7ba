"""The ``segdet`` command line."""
