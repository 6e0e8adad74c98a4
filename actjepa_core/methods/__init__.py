"""Chunked policy methods, one module and one config each, behind one registry.

See ``base`` for the interface every method honours and ``registry`` for the names.
"""
