"""The properties of the resource, their rules, attribute names and errors.

Standard library only: the construct imports it at synth, and the function imports it before
anything that could fail to load.
"""
