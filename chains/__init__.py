"""soundstage's chain presets, shipped in the package as ``soundstage.presets`` (TOML data).

Resolved by name with ``soundstage.host.chainfile.find_chain``.
"""
