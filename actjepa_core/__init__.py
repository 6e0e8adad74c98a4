"""ACT-JEPA core: everything the runnable book's notebooks call.

Modules are small and named for what they hold: ``envs`` (Fetch tasks), ``experts``
(scripted demonstrators), ``data`` (Minari demonstrations), and the model, training,
policy and evaluation modules built on top of them.
"""

__version__ = "0.1.0"
