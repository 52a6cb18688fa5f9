"""Built-in plugins, registered through the same hooks as third-party ones.

Each module here is one plugin (``builtin.games``, ``builtin.search``, ...), listed
in :data:`conceptlab.plugins.DEFAULT_PLUGINS`, and can be disabled by that name.
"""
