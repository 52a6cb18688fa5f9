"""Built-in plugins, registered through the same hooks as third-party ones.

Each module here is one plugin (``builtin.games``, ``builtin.search``, ...), listed
in :data:`conceptlab.plugins.DEFAULT_PLUGINS`, and can be disabled by that name.
The component plugins register their classes by import path
(:class:`~conceptlab.lazy.LazyComponent`); ``builtin.study`` and ``builtin.bench``
add the ``study`` and ``bench`` commands through ``add_cli_commands``.
"""
